/* glassnet dashboard: the weight difference between two runs' snapshots (compare page). */
"use strict";
(function (GN) {
  const el = GN.el;

  function picker(id, d, chosen) {
    const select = el("select", { id: id, "aria-label": id }, d.runs.map((r) => el("option", { value: r.id, text: r.label })));
    select.value = chosen;
    return select;
  }

  function stepPicker(id, steps, chosen) {
    const select = el("select", { id: id, "aria-label": id }, steps.map((s) => el("option", { value: String(s), text: "step " + s })));
    select.value = String(chosen);
    return select;
  }

  function diffTable(variables) {
    return GN.table(["Variable", "shape", "‖B − A‖ / ‖A‖", "cosine", "sign flips"],
      variables.map((v) => [v.path, v.shape_a.join("×") + (v.shape_a.join() === v.shape_b.join() ? "" : " vs " + v.shape_b.join("×")),
        v.relative === undefined ? null : v.relative, v.cosine === undefined ? null : v.cosine,
        v.sign_flips === undefined ? null : v.sign_flips]));
  }

  function topTables(variables) {
    return variables.filter((v) => v.top).map((v) => el("details", { class: "table-block top-k", "data-path": v.path },
      el("summary", {}, el("span", { text: v.path }), el("span", { class: "muted", text: ` the ${v.top.length} weights that changed most` })),
      GN.table(["unit", "index", "A", "B", "B − A"], v.top.map((t) => [t.unit, t.index.join(", "), t.a, t.b, t.delta]), { compact: true })));
  }

  function draw(body, w) {
    GN.clear(body);
    const same = w.variables.filter((v) => v.relative !== undefined && v.relative !== null);
    if (same.length) GN.barChart(body, same.map((v) => v.path), same.map((v) => v.relative),
      { title: "Relative difference ‖B − A‖ / ‖A‖", xTitle: "relative difference", color: GN.palette[3] });
    body.append(diffTable(w.variables), ...topTables(w.variables));
  }

  GN.weightDiffSection = function (container, d) {
    const s = GN.section("cmp-weights", "Weight difference between two runs",
      "Per Variable: relative L2 difference, cosine similarity, share of weights whose sign flipped, and the weights that changed most.");
    container.appendChild(s);
    const a = picker("diff-a", d, d.runs[0].id), b = picker("diff-b", d, d.runs[1].id);
    const controls = el("div", { class: "toolbar" }, el("label", {}, "A ", a), el("label", {}, "B ", b));
    const out = el("div", { class: "diff-body" });
    s.body.append(controls, out);
    let steps = null;
    async function load(stepA, stepB) {
      try {
        const w = await GN.api("/api/weight-diff", { a: a.value, b: b.value, step_a: stepA, step_b: stepB });
        if (steps) steps.remove();
        steps = el("span", { class: "steps" }, stepPicker("diff-step-a", w.steps.a, w.step_a), stepPicker("diff-step-b", w.steps.b, w.step_b));
        controls.appendChild(steps);
        steps.querySelectorAll("select").forEach((sel) => sel.addEventListener("change", () =>
          load(steps.querySelector("#diff-step-a").value, steps.querySelector("#diff-step-b").value)));
        draw(out, w);
      } catch (err) { GN.error(out, err); }
    }
    a.addEventListener("change", () => load("end", "end"));
    b.addEventListener("change", () => load("end", "end"));
    return load("end", "end");
  };
})(window.GN);
