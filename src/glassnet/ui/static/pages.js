/* glassnet dashboard: the pages — runs list, run, compare, datasets & models, static report. */
"use strict";
(function (GN) {
  const el = GN.el;
  GN.pages = GN.pages || {};

  /* ---------------------------------------------------------------- one run */
  function baseMetrics(keys) {
    const bases = [];
    for (const key of keys) {
      if (key === "epoch") continue;
      let base = key.startsWith("epoch/") ? key.slice(6) : key;
      if (key.startsWith("epoch/") && base.startsWith("val_")) base = base.slice(4);
      if (!bases.includes(base)) bases.push(base);
    }
    return bases.sort((a, b) => (a === "loss" ? -1 : b === "loss" ? 1 : a.localeCompare(b)));
  }
  function metricSeries(curves, base, prefix, colors) {
    const out = [];
    const add = (key, name, extra) => {
      const c = curves[key];
      if (c && c.steps.length) {
        out.push(Object.assign({ name: prefix + name, x: c.steps, y: c.values }, extra));
      }
    };
    const epochTrain = "epoch/" + base, epochVal = "epoch/val_" + base;
    add(base, "per step", { color: colors[0], width: 1, opacity: curves[epochTrain] ? 0.35 : 1 });
    add(epochTrain, "train (epoch)", { color: colors[1], width: 2.5 });
    add(epochVal, "validation (epoch)", { color: colors[2], width: 2.5, dash: "dash" });
    return out;
  }
  function thinnedNote(curves) {
    const thinned = Object.entries(curves).filter(([, c]) => c.recorded > c.steps.length);
    if (!thinned.length) return null;
    const [key, c] = thinned[0];
    return `Long curves are thinned for drawing (e.g. ${key}: ${c.steps.length} of ` +
      `${c.recorded} points, first and last kept).`;
  }
  function groupByLayer(paths) {
    const layers = [];
    for (const path of paths) {
      const i = path.lastIndexOf("/");
      const layer = i < 0 ? path : path.slice(0, i);
      let entry = layers.find((l) => l.name === layer);
      if (!entry) { entry = { name: layer, paths: [] }; layers.push(entry); }
      entry.paths.push(path);
    }
    return layers;
  }

  /* A run's overview: config, final metrics (with what each means), data and models. */
  function overviewGrid(detail) {
    const run = detail.run, labels = detail.summary_labels || {};
    const finals = Object.entries(run.summary).filter(([k]) => k !== "epoch")
      .map(([k, v]) => [labels[k] ? `${k} (${labels[k]})` : k, v]);
    const datasets = detail.datasets.map((d) => el("li", {},
      el("span", { class: "tag", text: "dataset" }), `${d.name}:v${d.version}`));
    const models = detail.models.map((m) => el("li", {},
      el("span", { class: "tag model", text: "model" }), `${m.name}:v${m.version}`,
      m.aliases.length ? ` (${m.aliases.join(", ")})` : ""));
    const grid = el("div", { class: "grid3" },
      el("div", {}, el("h3", { text: "Config" }), GN.kvTable(run.config)),
      el("div", {}, el("h3", { text: "Final metrics" }), GN.kvTable(Object.fromEntries(finals))),
      el("div", {}, el("h3", { text: "Data & models" }),
        datasets.length ? el("ul", { class: "plain" }, datasets) : null,
        models.length ? el("ul", { class: "plain" }, models) : null,
        !datasets.length && !models.length
          ? el("p", { class: "muted", text: "No dataset or model logged." }) : null,
        run.error ? el("pre", { class: "error-box", text: run.error }) : null));
    return grid;
  }

  GN.renderRun = async function (container, runId, opts) {
    opts = opts || {};
    const base = "/api/runs/" + encodeURIComponent(runId);
    const detail = await GN.api(base);
    const run = detail.run;
    const head = el("div", { class: "run-head" },
      el("div", {}, el("div", { class: "crumbs" },
        GN.isStatic() ? "report" : el("a", { href: "/", text: "Runs" }), " / ",
        el("span", { text: run.project })),
        el("h1", { class: "run-name", text: run.name }),
        el("div", { class: "meta" }, GN.statusPill(run.status),
          el("span", { class: "mono", text: run.id }),
          el("span", { text: "started " + GN.when(run.created_at) }),
          el("span", { text: "took " + GN.duration(run.created_at, run.finished_at) }),
          run.env && run.env.host ? el("span", { text: "on " + run.env.host }) : null,
          detail.framework ? el("span", { class: "framework", text: "trained with " +
            detail.framework.name +
            (detail.framework.version ? " " + detail.framework.version : "") }) : null)));
    const sections = [["overview", "Overview"], ["curves", "Curves"], ["network", "Network"],
      ["weights", "Weights & biases"], ["histograms", "Histograms"],
      ["diagnostics", "Diagnostics"], ["tables", "Tables"]];
    const prefix = opts.anchorPrefix || "";
    const nav = el("nav", { class: "subnav" },
      sections.map(([id, label]) => el("a", { href: "#" + prefix + id, text: label })));
    container.append(head, nav);
    const S = {};
    for (const [id, label] of sections) {
      S[id] = GN.section(prefix + id, label);
      container.appendChild(S[id]);
    }

    S.overview.body.appendChild(overviewGrid(detail));

    const jobs = [];
    const view = { curves: curvesView(S.curves.body), weights: weightsView(S.weights.body),
      network: GN.networkView(S.network.body, (step) => GN.api(base + "/network", { step: step })),
      histograms: GN.histogramsView(S.histograms.body,
        (path) => GN.api(base + "/histograms", { path: path })),
      status: (fresh) => {  // the status pill, and the final metrics as they are now
        head.querySelector(".pill").replaceWith(GN.statusPill(fresh.run.status));
        S.overview.body.querySelector(".grid3").replaceWith(overviewGrid(fresh));
      } };
    jobs.push(GN.api(base + "/metrics").then(view.curves).catch((e) => GN.error(S.curves.body, e)));
    jobs.push(view.network(null).catch((e) => GN.error(S.network.body, e)));
    jobs.push(Promise.all([GN.api(base + "/params"), GN.api(base + "/layers")])
      .then(([params, layers]) => view.weights(detail, params, layers))
      .catch((e) => GN.error(S.weights.body, e)));
    jobs.push(view.histograms(detail.param_paths, null));  // each Variable's heatmap

    jobs.push(GN.api(base + "/diagnostics").then((d) => drawDiagnostics(S.diagnostics.body, d))
      .catch((e) => GN.error(S.diagnostics.body, e)));
    jobs.push(GN.api(base + "/tables").then((t) => drawTables(S.tables.body, t))
      .catch((e) => GN.error(S.tables.body, e)));
    await Promise.all(jobs);
    if (!GN.isStatic() && run.status === "running") GN.liveRun(base, view);  // see live.js
  };

  /* The diagnostics section: each finding with its evidence and advice. */
  function drawDiagnostics(body, d) {
    const shown = (v) => typeof v === "object" && v !== null
      ? Object.entries(v).map(([a, b]) => a + ": " + GN.fmt(b)).join(", ") : GN.fmt(v);
    if (!d.findings.length) {
      body.appendChild(el("p", { class: "ok-box",
        text: "✓ Nothing looks wrong in what was recorded." }));
    }
    for (const f of d.findings) {
      const evidence = Object.entries(f.evidence || {}).map(([k, v]) => `${k} = ${shown(v)}`)
        .join(" · ");
      const source = f.source === "model" ? "from the model on its data"
        : "from the recorded statistics";
      body.appendChild(el("div", { class: "finding sev-" + String(f.severity).toLowerCase() },
        el("div", { class: "finding-head" }, el("span", { class: "sev", text: f.severity }),
          f.layer ? el("span", { class: "mono", text: f.layer }) : null,
          el("strong", { text: f.what }), el("span", { class: "source", text: source })),
        evidence ? el("div", { class: "evidence mono", text: evidence }) : null,
        el("div", { class: "advice", text: "→ " + f.advice })));
    }
    if (d.note) body.appendChild(el("p", { class: "muted note", text: d.note }));
  }

  /* The ten tables, each folded; the weights and biases tables open. */
  function drawTables(body, t) {
    if (!t.available) {
      body.appendChild(el("p", { class: "muted", text: "Tables unavailable — " + t.reason }));
      return;
    }
    for (const [name, table] of Object.entries(t.tables)) {
      const cut = table.elided_after;  // the server sends a long table's first and last rows
      const rows = cut ? table.rows.slice(0, cut)
        .concat([table.columns.map(() => "…")], table.rows.slice(cut)) : table.rows;
      const count = ` ${table.total} row${table.total === 1 ? "" : "s"}` +
        (cut ? ` (first and last ${cut} shown)` : "");
      const open = (name === "weights" || name === "biases") && table.total ? "" : null;
      body.appendChild(el("details", { class: "table-block", open: open },
        el("summary", {}, el("span", { text: table.title }),
          el("span", { class: "muted", text: count })),
        GN.table(table.columns, rows, { compact: true })));
    }
  }

  /* The curves section: view(curves) draws the charts, or redraws them with new points. */
  function curvesView(body) {
    const notes = el("div", {});
    body.appendChild(notes);
    const grid = GN.chartGrid(body);
    return function (curves) {
      GN.clear(notes);
      // a metric logged once (a final test score) is a number, not a curve: Overview shows it
      const once = Object.keys(curves).filter((k) => k !== "epoch" && curves[k].recorded === 1);
      const bases = baseMetrics(Object.keys(curves)).filter((b) =>
        ["", "epoch/", "epoch/val_"].some((p) => curves[p + b] && curves[p + b].recorded > 1));
      if (!bases.length) notes.appendChild(el("p", { class: "muted", text: "No curve recorded." }));
      if (once.length) {
        notes.appendChild(el("p", { class: "muted note",
          text: "Logged once (see Final metrics): " + once.join(", ") }));
      }
      const note = bases.length ? thinnedNote(curves) : null;
      if (note) notes.appendChild(el("p", { class: "muted note", text: note }));
      for (const b of bases) {
        grid.draw(b, metricSeries(curves, b, "", ["#94a3b8", GN.palette[0], GN.palette[1]]),
          { title: b, xTitle: "optimizer step", yTitle: b });
      }
    };
  }

  /* The weights & biases section: per layer mean and std, update ratio, gradient norm. */
  function weightsView(body) {
    const empty = el("p", { class: "muted", text: "No weight statistics recorded." });
    const grid = GN.chartGrid(body);
    body.appendChild(empty);
    return function (detail, params, layers) {
      const paths = detail.param_paths.filter((p) => p in params);
      empty.hidden = paths.length > 0;
      if (!paths.length) return;
      for (const layer of groupByLayer(paths)) {
        grid.draw("layer " + layer.name, layerSeries(layer, params),
          { title: layer.name + " — weights and bias", yTitle: "value" });
      }
      const all = (field) => paths.map((path) =>
        ({ name: path, x: params[path].steps, y: params[path][field] }));
      grid.draw("update ratio", all("update_ratio"),
        { title: "Update ratio ‖ΔW‖ / ‖W‖", yTitle: "ratio (log)", logY: true });
      grid.draw("grad", all("grad_l2"),
        { title: "Gradient L2 norm", yTitle: "‖∇‖ (log)", logY: true });
      const share = unitShares(layers);
      if (share.length) {
        grid.draw("shares", share, { title: "Dead and saturated units", yTitle: "share of units" });
      }
    };
  }
  function layerSeries(layer, params) {
    const series = [];
    for (const path of layer.paths) {
      const p = params[path], short = path.slice(layer.name.length + 1) || path;
      const color = short === "bias" ? GN.palette[1] : GN.palette[0];
      series.push({ name: short + " mean", x: p.steps, y: p.mean, color: color });
      series.push({ name: short + " std", x: p.steps, y: p.std, color: color, dash: "dot" });
    }
    return series;
  }
  function unitShares(layers) {
    const share = [];
    for (const [layer, s] of Object.entries(layers)) {
      const some = (values) => values.some((v) => v !== null);
      if (some(s.dead_share)) {
        share.push({ name: layer + " dead (ReLU)", x: s.steps, y: s.dead_share });
      }
      if (some(s.saturated_share)) {
        share.push({ name: layer + " saturated", x: s.steps, y: s.saturated_share });
      }
    }
    return share;
  }

  GN.pages.run = async function (main) {
    GN.clear(main);
    await GN.renderRun(main, document.body.dataset.run);
  };

  /* ---------------------------------------------------------------- compare */
  async function comparePicker(main) {
    const data = await GN.api("/api/runs", { group: "", limit: 500 });  // the newest 500
    const pick = (id) => el("select", { id: id }, data.runs.map((r) =>
      el("option", { value: r.id, text: `${r.name} (${r.project}, ${r.id})` })));
    const a = pick("pick-a"), b = pick("pick-b");
    if (data.runs.length > 1) b.selectedIndex = 1;
    main.append(el("div", { class: "page-head" }, el("h1", { text: "Compare two runs" })),
      el("div", { class: "card toolbar" }, el("label", {}, "A ", a), el("label", {}, "B ", b),
        el("button", { class: "button primary", type: "button", text: "Compare",
          onclick: () => {
            location.href = "/compare?a=" + encodeURIComponent(a.value) +
              "&b=" + encodeURIComponent(b.value);
          } })));
  }

  GN.renderCompare = async function (container, a, b) {
    const d = await GN.api("/api/compare", { a: a, b: b });
    const [ra, rb] = d.runs;
    const colors = [GN.palette[0], GN.palette[1]];
    container.appendChild(el("div", { class: "page-head" }, el("h1", { text: "Compare" }),
      el("div", { class: "versus" },
        el("a", { class: "run-chip a", href: GN.runHref(ra.id) }, el("b", { text: "A" }),
          el("span", { text: ra.name })),
        el("span", { class: "muted", text: "vs" }),
        el("a", { class: "run-chip b", href: GN.runHref(rb.id) }, el("b", { text: "B" }),
          el("span", { text: rb.name })))));
    const cfg = GN.section("cmp-config", "Config", "Keys whose values differ are highlighted.");
    const rows = d.config.map((c) => el("tr", { class: c.same ? "" : "differs" },
      el("th", { text: c.key }), el("td", { text: GN.fmt(c.a) }), el("td", { text: GN.fmt(c.b) })));
    cfg.body.appendChild(d.config.length ? el("table", { class: "data compare" },
      el("thead", {}, el("tr", {}, el("th", { text: "key" }), el("th", { text: "A · " + ra.name }),
        el("th", { text: "B · " + rb.name }))),
      el("tbody", {}, rows)) : el("p", { class: "muted", text: "Neither run has a config." }));
    container.appendChild(cfg);

    const cur = GN.section("cmp-curves", "Curves overlaid",
      "A in blue, B in orange; validation dashed.");
    container.appendChild(cur);  // in the page before plotly measures the charts' width
    const grid = el("div", { class: "grid2" });
    cur.body.appendChild(grid);
    for (const base of baseMetrics(Object.keys(d.curves.a))) {
      const series = [];
      [["a", "A", 0], ["b", "B", 1]].forEach(([side, label, i]) => {
        const c = d.curves[side];
        const key = c["epoch/" + base] ? "epoch/" + base : base;
        if (c[key]) {
          series.push({ name: label + " train", x: c[key].steps, y: c[key].values,
            color: colors[i] });
        }
        const val = c["epoch/val_" + base];
        if (val) {
          series.push({ name: label + " validation", x: val.steps, y: val.values,
            color: colors[i], dash: "dash" });
        }
      });
      if (series.length) {
        GN.lineChart(grid, series, { title: base, xTitle: "optimizer step", yTitle: base });
      }
    }
    if (!grid.childNodes.length) {
      cur.body.appendChild(el("p", { class: "muted", text: "The two runs share no metric." }));
    }

    const w = GN.section("cmp-weights", "Weight differences (final snapshots)",
      "Per Variable: ‖A − B‖ / ‖A‖ (relative), cosine similarity, and mean |A − B|.");
    container.appendChild(w);
    const same = d.weights.filter((x) => x.diff_l2 !== null);
    if (same.length) {
      GN.barChart(w.body, same.map((x) => x.path), same.map((x) => x.relative),
        { title: "Relative difference ‖A − B‖ / ‖A‖", xTitle: "relative difference",
          color: GN.palette[3] });
    }
    w.body.appendChild(d.weights.length ? GN.table(["Variable", "shape A", "shape B", "‖A − B‖",
      "relative", "cosine", "mean |A − B|"], d.weights.map((x) => [x.path, x.shape_a.join("×"),
      x.shape_b.join("×"), x.diff_l2, x.relative, x.cosine, x.mean_abs_diff]))
      : el("p", { class: "muted", text: "Both runs need a snapshot to compare weights." }));
  };

  GN.pages.compare = async function (main) {
    const { a, b } = document.body.dataset;
    GN.clear(main);
    if (a.includes(",")) return GN.renderCompareN(main, a.split(","));  // see compare.js
    if (!a || !b) return comparePicker(main);
    await GN.renderCompare(main, a, b);
  };

  /* ---------------------------------------------------------------- registry */
  GN.pages.registry = async function (main) {
    const d = await GN.api("/api/registry");
    GN.clear(main);
    main.appendChild(el("div", { class: "page-head" }, el("h1", { text: "Datasets & models" })));
    const runLinks = (runs) => runs.length ? el("span", { class: "links" },
      runs.map((r) => el("a", { href: GN.runHref(r.id), text: r.name })))
      : el("span", { class: "muted", text: "—" });
    const ds = GN.section("datasets", "Datasets",
      "Content-hashed: the same data always gets the same version.");
    const arrays = (x) => Object.entries(x.meta.arrays || {})
      .map(([k, v]) => `${k} ${v.shape.join("×")} ${v.dtype}`).join(", ");
    ds.body.appendChild(d.datasets.length ? GN.table(["name", "version", "samples", "arrays",
      "hash", "logged", "used by runs"],
      d.datasets.map((x) => [x.name, "v" + x.version, x.meta.n_samples,
        arrays(x), el("span", { class: "mono", text: x.hash.slice(0, 12) }),
        GN.when(x.created_at), runLinks(x.runs)]))
      : el("p", { class: "muted",
        text: "No dataset logged (run.log_dataset(name, X=..., y=...))." }));
    const ms = GN.section("models", "Registered models",
      "Each version is a .glassnet file; aliases point at versions.");
    const download = (m) => GN.isStatic() ? "—" : el("a", { text: "download",
      href: "/api/blobs/" + encodeURIComponent(m.sha),
      download: m.name + "-v" + m.version + ".glassnet" });
    ms.body.appendChild(d.models.length ? GN.table(["name", "version", "aliases", "parameters",
      "registered", "made by run", "file"], d.models.map((m) => [m.name, "v" + m.version,
      el("span", {}, m.aliases.map((a) => el("span", { class: "tag", text: a }))),
      m.meta.params === undefined ? null : m.meta.params, GN.when(m.created_at),
      m.run ? runLinks([m.run]) : "—", download(m)]))
      : el("p", { class: "muted", text: "No model registered (run.log_model(model, name))." }));
    main.append(ds, ms);
  };

  /* ---------------------------------------------------------------- static report */
  GN.pages.report = async function (main) {
    const spec = await GN.api("/report");
    GN.clear(main);
    for (const id of spec.runs) {
      const holder = el("div", { class: "report-run", id: "run-" + id });
      main.appendChild(holder);
      await GN.renderRun(holder, id, { anchorPrefix: id + "-" });
    }
    if (spec.compare) {
      const holder = el("div", { class: "report-run", id: "compare" });
      main.appendChild(holder);
      await GN.renderCompare(holder, spec.compare[0], spec.compare[1]);
    }
  };
})(window.GN);
