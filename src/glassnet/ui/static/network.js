/* glassnet dashboard: the network as SVG — edges coloured by the weight's sign and as wide
   as its magnitude, every unit filled by its bias; a slider replays the recorded snapshots. */
"use strict";
(function (GN) {
  const POS = "#2563eb", NEG = "#e8710a", INPUT = "#e2e8f0";
  const W = 860, ROW = 26, TOP = 34, BOTTOM = 46, R = 8.5;

  function mix(hex, t) {  // hex colour at strength t in [0, 1] over white
    const n = parseInt(hex.slice(1), 16);
    const c = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => Math.round(255 + (v - 255) * t));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  /* Draw one snapshot's diagram (data from /api/runs/{id}/network) into an <svg>. */
  GN.drawNetwork = function (data) {
    const cols = data.columns;
    const tallest = Math.max(...cols.map((c) => c.units.length), 1);
    const height = TOP + BOTTOM + tallest * ROW;
    const svg = GN.svg("svg", { viewBox: `0 0 ${W} ${height}`, class: "network", role: "img",
      "aria-label": "network diagram" });
    const xs = cols.map((_, i) => 70 + (i * (W - 140)) / Math.max(cols.length - 1, 1));
    const ys = cols.map((c) => c.units.map((_, j) => TOP + (tallest - c.units.length) * ROW / 2 + j * ROW + ROW / 2));
    const maxAbs = data.max_abs || 1;
    let maxBias = 0;
    cols.forEach((c) => (c.bias || []).forEach((b) => { if (b !== null) maxBias = Math.max(maxBias, Math.abs(b)); }));

    const edges = GN.svg("g", { class: "edges" });
    data.edges.forEach((edge, k) => {
      // A branched model's edge says which columns it joins; a chain's joins k and k + 1.
      const i = edge.from ?? k, o = edge.to ?? k + 1;
      edge.weights.forEach((row, a) => row.forEach((w, b) => {
        if (w === null) return;
        const t = Math.abs(w) / maxAbs;
        const line = GN.svg("line", { x1: xs[i], y1: ys[i][a], x2: xs[o], y2: ys[o][b],
          stroke: w >= 0 ? POS : NEG, "stroke-width": (0.25 + 3.75 * t).toFixed(2),
          "stroke-opacity": (0.18 + 0.7 * t).toFixed(2) });
        line.appendChild(GN.svg("title", { text: `${edge.layer}: w[${cols[i].units[a]}, ${cols[o].units[b]}] = ${GN.fmt(w)}` }));
        edges.appendChild(line);
      }));
    });
    svg.appendChild(edges);

    const nodes = GN.svg("g", { class: "nodes" });
    cols.forEach((col, i) => {
      col.units.forEach((unit, j) => {
        const b = col.bias ? col.bias[j] : null;
        const fill = col.bias === null ? INPUT : b === null ? "#000" :
          mix(b >= 0 ? POS : NEG, maxBias ? 0.12 + 0.88 * Math.abs(b) / maxBias : 0.12);
        const circle = GN.svg("circle", { cx: xs[i], cy: ys[i][j], r: R, fill: fill,
          stroke: col.bias === null ? "#94a3b8" : "#334155", "stroke-width": 1.2 });
        circle.appendChild(GN.svg("title", { text: col.bias === null ? `input ${unit}` : `${col.name} unit ${unit}: bias b = ${GN.fmt(b)}` }));
        nodes.appendChild(circle);
      });
      const label = GN.svg("text", { x: xs[i], y: height - BOTTOM + 18, "text-anchor": "middle", class: "col-name", text: col.name });
      const activation = (data.activations || {})[col.name];
      const shown = (col.units.length < col.size ? `${col.units.length} of ${col.size} units shown` : `${col.size} unit${col.size === 1 ? "" : "s"}`) +
        (activation ? ` · ${activation}` : "");
      const sub = GN.svg("text", { x: xs[i], y: height - BOTTOM + 33, "text-anchor": "middle", class: "col-size", text: shown });
      nodes.append(label, sub);
    });
    svg.appendChild(nodes);
    return svg;
  };

  function legend(data) {
    const sampled = data.columns.some((c) => c.units.length < c.size);
    return GN.el("div", { class: "legend" },
      GN.el("span", { class: "swatch-line pos" }), " positive weight ",
      GN.el("span", { class: "swatch-line neg" }), " negative weight · width ∝ |w| (widest = " + GN.fmt(data.max_abs) + ") · ",
      GN.el("span", { class: "swatch-dot pos" }), GN.el("span", { class: "swatch-dot neg" }), " unit fill: its bias (sign and size)",
      sampled ? GN.el("span", { class: "sampled", text: " · large layers are sampled: evenly spaced units, the same at every step" }) : null);
  }

  /* A diagram with a step slider: load(step) returns the diagram data at that step. */
  GN.networkPlayer = function (container, first, load) {
    const steps = first.steps || [];
    const holder = GN.el("div", { class: "network-holder" });
    const caption = GN.el("span", { class: "step-label" });
    const slider = GN.el("input", { type: "range", min: 0, max: Math.max(steps.length - 1, 0), step: 1,
      value: Math.max(steps.indexOf(first.step), 0), class: "slider", "aria-label": "snapshot step" });
    const play = GN.el("button", { class: "button", type: "button", text: "▶ Replay" });
    let current = first, timer = null, token = 0;
    function show(data) {
      current = data;
      GN.clear(holder).append(GN.drawNetwork(data), legend(data));
      caption.textContent = `step ${data.step}  (${slider.value * 1 + 1} of ${steps.length} snapshots)`;
    }
    async function goTo(index) {
      const mine = ++token;
      const data = await load(steps[index]);
      if (mine === token) show(data);
    }
    slider.addEventListener("input", () => goTo(Number(slider.value)).catch((e) => GN.error(holder, e)));
    play.addEventListener("click", () => {
      if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ Replay"; return; }
      play.textContent = "❚❚ Pause";
      let i = 0;
      timer = setInterval(() => {
        slider.value = i;
        goTo(i).catch(() => {});
        i += 1;
        if (i >= steps.length) { clearInterval(timer); timer = null; play.textContent = "▶ Replay"; }
      }, 350);
    });
    const controls = GN.el("div", { class: "player" }, play, slider, caption);
    container.append(controls, holder);
    controls.hidden = steps.length < 2;
    show(current);
    /* A run still training: a newer last snapshot. The diagram follows it when the slider
       was at the end (not while the user looks at an earlier step or replays). */
    function update(latest) {
      const atEnd = Number(slider.value) === steps.length - 1 && timer === null;
      if (latest.step === steps[steps.length - 1]) return;
      steps.splice(0, steps.length, ...latest.steps);
      slider.max = Math.max(steps.length - 1, 0);
      controls.hidden = steps.length < 2;
      if (atEnd) { slider.value = steps.length - 1; token += 1; show(latest); }
    }
    return { slider, holder, update };
  };
})(window.GN);
