/* glassnet dashboard: live pages. A poll runs while the tab is visible and stops for good
   when its tick says so (the run ended); charts are redrawn in place (Plotly.react). */
"use strict";
(function (GN) {
  GN.LIVE_MS = 1000;  // the store flushes within a second: polling faster shows nothing new

  /* Call tick() every ms while the page is visible; tick() returning false ends the poll. */
  GN.poll = function (tick, ms) {
    let timer = null, busy = false, stopped = false;
    const hidden = () => document.visibilityState === "hidden";
    async function step() {
      timer = null;
      if (stopped || busy || hidden()) return;  // hidden: visibilitychange resumes
      busy = true;
      let more = true;
      try { more = await tick(); } catch (err) { console.warn("live update failed:", err.message); }
      busy = false;
      if (more === false) stop();
      else if (!stopped && !hidden()) timer = setTimeout(step, ms);
    }
    function onVisibility() { if (!hidden() && timer === null && !busy && !stopped) step(); }
    function stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    }
    document.addEventListener("visibilitychange", onVisibility);
    timer = setTimeout(step, ms);
    return { stop: stop };
  };

  /* A grid of charts keyed by name: each draw updates its chart or adds one. */
  GN.chartGrid = function (parent) {
    const grid = GN.el("div", { class: "grid2" });
    parent.appendChild(grid);
    const charts = new Map();
    grid.draw = function (key, series, opts) {
      const div = GN.lineChart(grid, series, Object.assign({ div: charts.get(key) }, opts));
      charts.set(key, div);
      return div;
    };
    return grid;
  };

  /* Keep a run page current while its run trains: status, curves, statistics, and the
     network and histograms when a new snapshot or statistics step has been recorded. */
  GN.liveRun = function (base, view) {
    return GN.poll(async function () {
      const detail = await GN.api(base);
      const [curves, params, layers] = await Promise.all([GN.api(base + "/metrics"),
        GN.api(base + "/params"), GN.api(base + "/layers")]);
      view.curves(curves);
      view.weights(detail, params, layers);
      await Promise.all([view.network(detail), view.histograms(detail.param_paths, params)]);
      view.status(detail);
      return detail.run.status === "running";
    }, GN.LIVE_MS);
  };

  /* The network section: the diagram at the last snapshot, with its replay slider.
     view(detail) asks for the last snapshot when the run has recorded a new one. */
  GN.networkView = function (body, load) {
    const empty = GN.el("p", { class: "muted",
      text: "No snapshot recorded (run.watch(snapshots=\"epoch\") records one per epoch)." });
    let player = null, seen = -1;
    return async function (detail) {
      const count = detail ? detail.snapshots.length : null;
      if (count !== null && count === seen) return;  // nothing new since the last look
      const latest = await load("end");
      seen = latest.steps.length;
      if (!latest.columns.length) { if (!empty.parentNode) body.appendChild(empty); return; }
      empty.remove();
      if (player) player.update(latest);
      else player = GN.networkPlayer(body, latest, load);
    };
  };

  /* The histograms section: one heatmap per Variable, in layer order, each redrawn in
     place when its weight statistics have a newer step (histograms are recorded with them). */
  GN.histogramsView = function (body, load) {
    const grid = GN.el("div", { class: "grid2" });
    const empty = GN.el("p", { class: "muted", text: "No histograms recorded." });
    body.append(grid, empty);
    const slots = new Map();
    async function one(path, params) {
      let entry = slots.get(path);
      if (!entry) {
        entry = { slot: GN.el("div", { class: "slot", hidden: true }), div: null, seen: null };
        grid.appendChild(entry.slot);
        slots.set(path, entry);
      }
      const steps = params && params[path] ? params[path].steps : null;
      const newest = steps && steps.length ? steps[steps.length - 1] : null;
      if (params && newest === entry.seen) return;
      entry.seen = newest;
      const h = await load(path);
      if (!h.steps.length) return;
      entry.slot.hidden = false;
      entry.div = GN.heatmap(entry.slot, h, { div: entry.div, yTitle: "value",
        title: path + " — value histogram over steps" });
    }
    return async function (paths, params) {
      empty.hidden = paths.length > 0;
      await Promise.all(paths.map((path) => one(path, params).catch((e) => {
        slots.get(path).slot.hidden = false;
        GN.clear(slots.get(path).slot).appendChild(GN.el("p", { class: "error",
          text: path + ": " + e.message }));
      })));
    };
  };

  /* Keep the runs list current: refresh() fetches the page shown and redraws what changed
     (new runs, statuses). A large store answers slower: the poll then waits ten times the
     answer's time, so it never loads the server. */
  GN.liveList = function (refresh) {
    const tick = async function () {
      const started = performance.now();
      await refresh();
      const wait = Math.max(GN.LIVE_MS, 10 * (performance.now() - started));
      await new Promise((resolve) => setTimeout(resolve, wait - GN.LIVE_MS));
      return true;
    };
    return GN.poll(tick, GN.LIVE_MS);
  };
})(window.GN);
