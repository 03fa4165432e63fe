/* glassnet dashboard: hyperparameters against results on the compare page — parallel
   coordinates, a scatter and an importance ranking (η², computed by ui/hyper.py). */
"use strict";
(function (GN) {
  const el = GN.el;
  const CONFIG = { displaylogo: false, responsive: true, displayModeBar: "hover" };
  const PREFERRED = ["cv_score", "epoch/val_accuracy", "epoch/val_loss", "val_loss", "epoch/loss", "loss"];

  function layout(title, height) {
    return { title: { text: title, font: { size: 14 }, x: 0, xanchor: "left" }, height: height,
      margin: { l: 64, r: 24, t: 64, b: 48 }, paper_bgcolor: "rgba(0,0,0,0)",
      font: { family: "Inter, 'Segoe UI', system-ui, sans-serif", size: 12, color: "#334155" } };
  }

  /* A dimension of the parallel coordinates: numbers as they are, categories as ticks. */
  function dimension(param, keep) {
    const values = keep.map((i) => param.values[i]);
    if (param.numeric) return { label: param.key, values: values };
    const cats = [...new Set(values.map(String))].sort();
    return { label: param.key, values: values.map((v) => cats.indexOf(String(v))),
      tickvals: cats.map((_, i) => i), ticktext: cats };
  }

  function chartBox(parent, height) {
    const div = el("div", { class: "chart" });
    div.style.height = height + "px";
    parent.appendChild(div);
    return div;
  }

  function drawParcoords(div, h, metric, y, keep) {
    const dims = h.params.map((p) => dimension(p, keep)).concat([{ label: metric, values: keep.map((i) => y[i]) }]);
    Plotly.react(div, [{ type: "parcoords", dimensions: dims,
      line: { color: keep.map((i) => y[i]), colorscale: "Viridis", showscale: true, colorbar: { title: { text: metric } } } }],
    Object.assign(layout("Parallel coordinates: one line per run", 380), { margin: { l: 64, r: 24, t: 96, b: 32 } }), CONFIG);
  }

  function drawScatter(div, h, d, metric, y, keep, xKey, colorKey) {
    const px = h.params.find((p) => p.key === xKey), pc = h.params.find((p) => p.key === colorKey);
    const colour = pc ? (pc.numeric ? keep.map((i) => pc.values[i]) : keep.map((i) => [...new Set(pc.values.map(String))].sort().indexOf(String(pc.values[i]))))
      : GN.palette[0];
    const L = layout(`${metric} against ${xKey}` + (pc ? `, colour: ${colorKey}` : ""), 360);
    L.xaxis = { title: { text: xKey }, type: px.numeric ? "linear" : "category", gridcolor: "#eef2f7" };
    L.yaxis = { title: { text: metric }, gridcolor: "#eef2f7" };
    L.hovermode = "closest";
    Plotly.react(div, [{ type: "scatter", mode: "markers", x: keep.map((i) => px.values[i]), y: keep.map((i) => y[i]),
      text: keep.map((i) => d.runs[i].label), hovertemplate: "%{text}<br>%{y:.4g}<extra></extra>",
      marker: { size: 11, color: colour, colorscale: "Viridis", showscale: Boolean(pc && pc.numeric), line: { width: 1, color: "#fff" } } }], L, CONFIG);
  }

  function rankingTable(h, metric) {
    const rank = h.importance[metric];
    return GN.table(["hyperparameter", "η²", "distinct values", "note"], rank.ranking.map((r) => [r.key, r.eta2, r.values,
      r.unique ? "every run has its own value: η² says nothing" : ""]));
  }

  function picker(id, options, chosen) {
    const s = el("select", { id: id, "aria-label": id }, options.map((o) => el("option", { value: o, text: o })));
    if (options.includes(chosen)) s.value = chosen;
    return s;
  }

  GN.hyperSection = function (container, d) {
    const h = d.hyper, metrics = Object.keys(h.importance);
    const s = GN.section("cmp-hyper", "Hyperparameters against results",
      "Importance: " + h.statistic + ", over the runs that have the metric.");
    container.appendChild(s);
    if (!h.params.length || !metrics.length) {
      s.body.appendChild(el("p", { class: "muted", text: "The runs' configs do not differ, or no run has a final metric." }));
      return;
    }
    const single = d.single_values.map((v) => v.key).find((k) => metrics.includes(k));
    const metricSel = picker("hyper-metric", metrics, single || PREFERRED.find((k) => metrics.includes(k)) || metrics[0]);
    const keys = h.params.map((p) => p.key);
    const xSel = picker("hyper-x", keys, keys[0]);
    const colorSel = picker("hyper-color", ["(none)"].concat(keys), keys[1] || "(none)");
    s.body.appendChild(el("div", { class: "toolbar" }, el("label", {}, "metric ", metricSel),
      el("label", {}, "scatter x ", xSel), el("label", {}, "colour ", colorSel)));
    const par = chartBox(s.body, 380), grid = el("div", { class: "grid2" });
    s.body.appendChild(grid);
    const sc = chartBox(grid, 360), rank = el("div", {});
    grid.appendChild(rank);
    function draw() {
      const metric = metricSel.value;
      const y = d.summaries.map((sm) => (typeof sm[metric] === "number" ? sm[metric] : null));
      const keep = y.map((v, i) => (v === null ? -1 : i)).filter((i) => i >= 0);
      drawParcoords(par, h, metric, y, keep);
      drawScatter(sc, h, d, metric, y, keep, xSel.value, colorSel.value);
      GN.clear(rank).append(el("h3", { text: "Importance for " + metric }), rankingTable(h, metric));
    }
    [metricSel, xSel, colorSel].forEach((sel) => sel.addEventListener("change", draw));
    draw();
  };
})(window.GN);
