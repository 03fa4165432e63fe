/* glassnet dashboard: the compare page for N runs (2 to 50), from /api/compare-runs. */
"use strict";
(function (GN) {
  const el = GN.el;

  /* A colour per run: the palette, then golden-angle hues for runs past its eight. */
  GN.runColor = function (i) {
    return i < GN.palette.length ? GN.palette[i] : `hsl(${Math.round(i * 137.5) % 360}, 65%, 42%)`;
  };

  function metricBases(curves) {
    const bases = new Set();
    for (const c of curves) {
      for (const key of Object.keys(c)) {
        if (key === "epoch") continue;
        bases.add(key.replace(/^epoch\//, "").replace(/^val_/, ""));
      }
    }
    return [...bases].sort((a, b) => (a === "loss" ? -1 : b === "loss" ? 1 : a.localeCompare(b)));
  }

  function header(d) {
    return el("div", { class: "page-head" }, el("h1", { text: `Compare ${d.runs.length} runs` }),
      el("div", { class: "versus" }, d.runs.map((r, i) => el("a", { class: "run-chip", href: GN.runHref(r.id),
        style: "border-color:" + GN.runColor(i) }, el("b", { style: "color:" + GN.runColor(i), text: "●" }),
        el("span", { text: r.label })))));
  }

  function configSection(d) {
    const s = GN.section("cmp-config", "Config", "Keys whose values differ between the runs are highlighted and come first.");
    if (!d.config.length) { s.body.appendChild(el("p", { class: "muted", text: "No run has a config." })); return s; }
    const head = el("tr", {}, el("th", { text: "key" }), d.runs.map((r, i) =>
      el("th", { style: "color:" + GN.runColor(i), text: r.name })));
    const rows = d.config.map((c) => el("tr", { class: c.differs ? "differs" : "" },
      el("th", { text: c.key }), c.values.map((v) => el("td", { text: GN.fmt(v) }))));
    s.body.appendChild(el("div", { class: "table-wrap" },
      el("table", { class: "data compare" }, el("thead", {}, head), el("tbody", {}, rows))));
    return s;
  }

  function curveSeries(d, base) {
    const series = [];
    d.curves.forEach((c, i) => {
      const train = c["epoch/" + base] ? "epoch/" + base : base;
      const label = d.runs[i].label, color = GN.runColor(i);
      if (c[train]) series.push({ name: label, x: c[train].steps, y: c[train].values, color: color });
      const val = c["epoch/val_" + base];
      if (val) series.push({ name: label + " (val)", x: val.steps, y: val.values, color: color, dash: "dash" });
    });
    return series;
  }

  function curvesSection(container, d) {
    const s = GN.section("cmp-curves", "Curves overlaid", "One colour per run, named by what differs in its config; validation dashed.");
    container.appendChild(s);  // in the page before plotly measures the charts' width
    const grid = el("div", { class: "grid2" });
    s.body.appendChild(grid);
    for (const base of metricBases(d.curves)) {
      const series = curveSeries(d, base);
      if (series.length) GN.lineChart(grid, series, { title: base, xTitle: "optimizer step", yTitle: base, height: 340 });
    }
    if (!grid.childNodes.length) s.body.appendChild(el("p", { class: "muted", text: "No run recorded a curve." }));
  }

  function singlesSection(container, d) {
    const s = GN.section("cmp-singles", "Final and single-value metrics", "Metrics logged once (a test score) as bars; every run's final metrics in the table.");
    container.appendChild(s);
    const labels = d.runs.map((r) => r.label);
    for (const single of d.single_values) {
      const ok = single.values.map((v) => typeof v === "number");
      if (!ok.some(Boolean)) continue;
      GN.barChart(s.body, labels.filter((_, i) => ok[i]), single.values.filter((_, i) => ok[i]),
        { title: single.key, xTitle: single.key, color: GN.palette[2] });
    }
    s.body.appendChild(GN.table(["run"].concat(d.summary_keys),
      d.runs.map((r, i) => [r.label].concat(d.summary_keys.map((k) => d.summaries[i][k] === undefined ? null : d.summaries[i][k])))));
  }

  function layersSection(container, d) {
    const s = GN.section("cmp-layers", "Weights and biases per Variable (last recorded step)", "Each Variable's statistics, one column per run.");
    container.appendChild(s);
    const L = d.layer_stats;
    if (!L.paths.length) { s.body.appendChild(el("p", { class: "muted", text: "No run recorded weight statistics." })); return; }
    const rows = [];
    for (const [j, path] of L.paths.entries()) {
      for (const field of L.fields) rows.push([path, field].concat(L.runs.map((run) => (run[j] ? run[j][field] : null))));
    }
    s.body.appendChild(GN.table(["Variable", "statistic"].concat(d.runs.map((r) => r.name)), rows, { compact: true }));
  }

  GN.renderCompareN = async function (container, ids) {
    const d = await GN.api("/api/compare-runs", { run: ids });
    container.append(header(d), configSection(d));
    curvesSection(container, d);
    singlesSection(container, d);
    GN.hyperSection(container, d);  // see hyper.js
    layersSection(container, d);
    GN.weightDiffSection(container, d);  // see weightdiff.js
  };
})(window.GN);
