/* glassnet dashboard: plotly charts with one look (labelled axes, quiet grid, one palette). */
"use strict";
(function (GN) {
  GN.palette = ["#2563eb", "#e8710a", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"];
  const FONT = { family: "Inter, 'Segoe UI', system-ui, -apple-system, sans-serif", size: 12, color: "#334155" };

  function baseLayout(opts) {
    return {
      title: opts.title ? { text: opts.title, font: { size: 14, color: "#0f172a" }, x: 0, xanchor: "left", pad: { l: 4 } } : undefined,
      font: FONT,
      margin: { l: 64, r: 16, t: opts.title ? 40 : 16, b: 48 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "#ffffff",
      hovermode: "x unified",
      legend: { orientation: "h", x: 0, y: -0.22, font: { size: 11 } },
      xaxis: { title: { text: opts.xTitle || "optimizer step", standoff: 8 }, gridcolor: "#eef2f7", zeroline: false, linecolor: "#cbd5e1", ticks: "outside", tickcolor: "#cbd5e1" },
      yaxis: { title: { text: opts.yTitle || "", standoff: 8 }, gridcolor: "#eef2f7", zeroline: false, linecolor: "#cbd5e1",
        type: opts.logY ? "log" : "linear", exponentformat: "power", ticks: "outside", tickcolor: "#cbd5e1" },
      height: opts.height || 300,
    };
  }
  /* A chart's box, sized before plotly draws into it: plotly's responsive mode fills its
     container, so a container without a height collapses when the window is resized. */
  function box(container, layout) {
    const div = GN.el("div", { class: "chart" });
    div.style.height = layout.height + "px";
    container.appendChild(div);
    return div;
  }
  /* the toolbar shows only while the pointer is over a chart: it covered titles otherwise */
  const CONFIG = { displaylogo: false, responsive: true, displayModeBar: "hover",
    modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] };

  /* A log axis labelled at whole decades only (plotly's own minor labels 2 and 5 crowd it);
     a range under one decade keeps plotly's automatic ticks, else it would have no label. */
  GN.logTicks = function (axis, series) {
    const ys = series.flatMap((s) => s.y).filter((v) => typeof v === "number" && v > 0);
    if (!ys.length) return axis;
    const decades = Math.log10(Math.max(...ys)) - Math.log10(Math.min(...ys));
    if (decades >= 1) { axis.dtick = Math.max(1, Math.ceil(decades / 6)); axis.tick0 = 0; }
    axis.minor = { ticks: "outside", ticklen: 3, showgrid: false };
    return axis;
  };

  /* series: [{name, x, y, dash, color, width, opacity}] */
  GN.lineChart = function (container, series, opts) {
    opts = opts || {};
    const layout = baseLayout(opts);
    const div = opts.div || box(container, layout);  // opts.div: redraw that chart in place
    if (opts.logY) GN.logTicks(layout.yaxis, series);
    const traces = series.map((s, i) => ({
      type: "scatter", mode: s.x.length === 1 ? "markers" : "lines", name: s.name,
      x: s.x, y: s.y, opacity: s.opacity === undefined ? 1 : s.opacity,
      line: { color: s.color || GN.palette[i % GN.palette.length], width: s.width || 2, dash: s.dash || "solid" },
      fill: s.fill, fillcolor: s.fillcolor, showlegend: s.showlegend !== false,
      hovertemplate: "%{y:.4g}",
    }));
    if (opts.div) Plotly.react(div, traces, layout, CONFIG);
    else Plotly.newPlot(div, traces, layout, CONFIG);
    return div;
  };

  GN.heatmap = function (container, data, opts) {
    opts = opts || {};
    // log1p counts: a few tall bins would otherwise hide the spread of the rest
    const z = data.counts.map((row) => row.map((c) => Math.log1p(c || 0)));
    const layout = baseLayout(Object.assign({ yTitle: "value" }, opts));
    const div = opts.div || box(container, layout);  // opts.div: redraw that chart in place
    layout.hovermode = "closest";
    (opts.div ? Plotly.react : Plotly.newPlot)(div, [{
      type: "heatmap", x: data.steps, y: data.values, z: z, colorscale: "Viridis", showscale: true,
      colorbar: { title: { text: "log(1+count)", side: "right" }, thickness: 10, outlinewidth: 0 },
      hovertemplate: "step %{x}<br>value %{y:.3g}<br>log(1+count) %{z:.2f}<extra></extra>",
    }], layout, CONFIG);
    return div;
  };

  /* Horizontal bars: one per label (long Variable names stay readable on the y axis). */
  GN.barChart = function (container, labels, values, opts) {
    opts = opts || {};
    const layout = baseLayout(Object.assign({ height: 90 + 34 * labels.length }, opts));
    const div = box(container, layout);
    layout.hovermode = "closest";
    layout.yaxis = { type: "category", automargin: true, autorange: "reversed", ticks: "", linecolor: "#cbd5e1" };
    layout.showlegend = false;
    Plotly.newPlot(div, [{ type: "bar", orientation: "h", y: labels, x: values,
      marker: { color: opts.color || GN.palette[0] }, width: 0.6,
      hovertemplate: "%{y}: %{x:.4g}<extra></extra>" }], layout, CONFIG);
    return div;
  };
})(window.GN);
