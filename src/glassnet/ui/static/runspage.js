/* glassnet dashboard: the runs list page — its toolbar (filter box, grouping, menus,
   column chooser), the pager, and the live refresh. The rows are drawn by runs.js. */
"use strict";
(function (GN) {
  const el = GN.el;
  GN.pages = GN.pages || {};

  /* The column chooser: every final metric and config key the runs have, tags and note. */
  function chooser(state, keys, onChange) {
    const box = (column, text, count) => el("label", { class: "choice" },
      el("input", { type: "checkbox", "data-column": column,
        checked: state.columns.includes(column), onchange: (e) => {
          state.columns = e.target.checked ? state.columns.concat([column])
            : state.columns.filter((c) => c !== column);
          onChange();
        } }), el("span", { text: text }),
      count ? el("span", { class: "muted", text: count }) : null);
    const find = el("input", { type: "search", placeholder: "find a key…",
      "aria-label": "find a key" });
    const lists = el("div", { class: "chooser-lists" },
      el("div", {}, el("h3", { text: "Final metrics" }),
        keys.summary.map((k) => box("summary." + k.key, k.key, `${k.runs}`))),
      el("div", {}, el("h3", { text: "Config" }),
        keys.config.map((k) => box("config." + k.key, k.key,
          `${k.runs} · ${k.distinct} values`))),
      el("div", {}, el("h3", { text: "Other" }), box("tags", "tags"), box("note", "note")));
    find.addEventListener("input", () => {
      const needle = find.value.toLowerCase();
      for (const label of lists.querySelectorAll("label.choice")) {
        label.hidden = !label.textContent.toLowerCase().includes(needle);
      }
    });
    return el("details", { class: "chooser", id: "column-chooser" },
      el("summary", { class: "button", text: "Columns" }),
      el("div", { class: "chooser-panel card" }, find, lists));
  }
  function select(id, label, options, value) {
    const node = el("select", { id: id, "aria-label": label },
      options.map(([v, text]) => el("option", { value: v, text: text })));
    node.value = value;
    return node;
  }

  function toolbar(state, keys, act) {
    const filterBox = el("input", { type: "search", id: "runs-filter", class: "filter-box",
      value: state.filter, "aria-label": "filter runs", spellcheck: "false",
      placeholder: "config.learning_rate < 0.01 and summary.accuracy > 0.9 — Enter to apply" });
    filterBox.addEventListener("keydown", (e) => {
      if (e.key === "Enter") act.filter(filterBox.value);
    });
    // the search box's clear (×) button
    filterBox.addEventListener("search", () => act.filter(filterBox.value));
    const group = select("group-by", "group runs", [["sweep", "group by sweep"],
      ["project", "group by project"], ["", "no grouping"]], state.group);
    const project = select("filter-project", "project", [["", "all projects"]]
      .concat(keys.projects.map((p) => [p, p])), state.project);
    const status = select("filter-status", "status", [["", "any status"]]
      .concat(GN.runsList.STATUSES.map((s) => [s, s])), state.status);
    group.addEventListener("change", () => act.set({ group: group.value }));
    project.addEventListener("change", () => act.set({ project: project.value }));
    status.addEventListener("change", () => act.set({ status: status.value }));
    return { filterBox, node: el("div", { class: "toolbar" }, filterBox,
      el("button", { class: "button", type: "button", text: "Filter",
        onclick: () => act.filter(filterBox.value) }),
      group, project, status, chooser(state, keys, act.columns)) };
  }

  function pager(state, data, go) {
    if (!data || data.total <= data.limit && !data.offset) return null;
    const last = Math.min(data.offset + data.limit, data.total);
    return el("div", { class: "pager" },
      el("button", { class: "button", type: "button", text: "‹ Previous",
        disabled: data.offset === 0, onclick: () => go(Math.max(0, data.offset - data.limit)) }),
      el("span", { class: "muted", text: `${data.offset + 1}–${last} of ${data.total}` }),
      el("button", { class: "button", type: "button", text: "Next ›",
        disabled: last >= data.total, onclick: () => go(data.offset + data.limit) }));
  }

  GN.pages.runs = async function (main) {
    const R = GN.runsList, state = R.readState();
    const keysAsk = GN.api("/api/run-columns");
    // the columns known (URL, last visit): the first page is asked for alongside the keys
    let early = state.columns === null ? null : GN.api("/api/runs", R.query(state));
    if (early) early.catch(() => {});  // refresh() reports its error
    const keys = await keysAsk;
    if (state.columns === null) state.columns = keys.default;
    let data = null, version = 0;
    const count = el("span", { class: "muted", id: "runs-count" });
    const compareBtn = el("button", { class: "button primary", type: "button", disabled: true,
      text: "Compare selected", onclick: () => { location.href = "/compare?" + [...state.selected]
        .map((id) => "run=" + encodeURIComponent(id)).join("&"); } });
    state.onSelect = () => { compareBtn.disabled = state.selected.size < 2; };
    const problem = el("p", { class: "error filter-error", hidden: true });
    const holder = el("div", { class: "table-wrap runs-wrap" }), foot = el("div", {});
    const act = {
      filter: (text) => act.set({ filter: text.trim() }),
      set: (change) => {
        Object.assign(state, change, { offset: 0 });
        state.expanded.clear();
        refresh();
      },
      columns: () => refresh(),
    };
    const bar = toolbar(state, keys, act);
    GN.clear(main).append(el("div", { class: "page-head" }, el("h1", { text: "Runs" }), count,
      el("span", { class: "spacer" }), compareBtn), bar.node, problem,
      el("div", { class: "card flush" }, holder, foot));

    function draw() {
      const rows = R.bodyRows(state, data.rows, data.score, 0, refresh);
      const noun = state.group ? "rows" : "runs";
      count.textContent = `${data.total} ${noun}` + (data.filter ? " match" : "");
      GN.clear(holder).appendChild(el("table", { class: "data runs" },
        el("thead", {}, R.header(state, refresh)), el("tbody", {}, rows)));
      if (!data.rows.length) {
        holder.appendChild(el("p", { class: "empty", text: data.filter
          ? "No run matches this filter." : "No runs recorded yet: train with "
          + "gn.track.init(...) and run.watch(), or run `glassnet demo`." }));
      }
      GN.clear(foot);
      const nav = pager(state, data, (offset) => {
        state.offset = offset;
        state.expanded.clear();
        refresh();
      });
      if (nav) foot.appendChild(nav);
    }
    /* The page and every opened group, fetched afresh; drawn if anything changed. */
    let shown = "";
    async function refresh() {
      const mine = ++version;
      R.writeState(state);
      let fresh;
      try {
        const ask = early || GN.api("/api/runs", R.query(state));
        early = null;
        fresh = await ask;
        state.score = fresh.score;
        for (const group of state.expanded.values()) group.fresh = await R.expansion(state, group);
      } catch (err) {
        if (mine !== version) return;
        problem.hidden = false;
        problem.textContent = err.message;
        return;
      }
      if (mine !== version) return;  // the user changed the query meanwhile: a newer answer comes
      problem.hidden = true;
      for (const group of state.expanded.values()) group.data = group.fresh;
      const text = JSON.stringify([fresh, [...state.expanded.values()].map((g) => g.data)]);
      data = fresh;
      if (text !== shown || !holder.firstChild) { shown = text; draw(); }
    }
    await refresh();
    GN.liveList(refresh);  // see live.js
  };
})(window.GN);
