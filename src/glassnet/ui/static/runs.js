/* glassnet dashboard: the runs list. One page of rows from /api/runs (runs_list.py):
   filtered with the query language, sorted by the server, grouped by sweep or project
   (a group row expands to its trials and folds), columns chosen by the user. */
"use strict";
(function (GN) {
  const el = GN.el;
  const STATUSES = ["running", "finished", "failed", "crashed"];
  const PAGE = 50;
  const EXPAND_LIMIT = 500;  // a group's runs drawn when it is opened (the API's largest page)
  const STORED = "glassnet.runs.columns";
  const FIXED = [["name", "Name"], ["project", "Project"], ["status", "Status"],
    ["created_at", "Created"]];

  /* The list's state lives in the URL (a reload or a shared link keeps it); the chosen
     columns also in localStorage, so a new visit starts with the last choice. */
  function readState() {
    const q = new URLSearchParams(location.search);
    let columns = q.get("columns");
    if (columns === null) columns = localStorage.getItem(STORED);
    return { filter: q.get("filter") || "", order: q.get("order_by") || "",
      group: q.has("group") ? q.get("group") : "sweep", project: q.get("project") || "",
      status: q.get("status") || "", offset: Number(q.get("offset")) || 0,
      columns: columns === null ? null : columns.split(",").filter(Boolean),
      expanded: new Map(), selected: new Set() };
  }
  function writeState(state) {
    const q = new URLSearchParams();
    if (state.filter) q.set("filter", state.filter);
    if (state.order) q.set("order_by", state.order);
    if (state.group !== "sweep") q.set("group", state.group);
    for (const k of ["project", "status"]) if (state[k]) q.set(k, state[k]);
    if (state.offset) q.set("offset", state.offset);
    q.set("columns", state.columns.join(","));
    localStorage.setItem(STORED, state.columns.join(","));
    history.replaceState(null, "", location.pathname + "?" + q);
  }
  function query(state, extra) {
    return Object.assign({ filter: state.filter, order_by: state.order, group: state.group,
      project: state.project, status: state.status, offset: state.offset, limit: PAGE,
      columns: state.columns.join(",") }, extra || {});
  }

  /* ------------------------------------------------------------------ cells */
  function label(column) {
    if (column === "tags") return "Tags";
    if (column === "note") return "Note";
    return column.replace(/^(config|summary)\./, "").replace(/^epoch\//, "");
  }
  function sortKey(column) { return column === "tags" || column === "note" ? null : column; }
  function valueCell(run, column) {
    if (column === "tags") {
      const chips = run.tags.map((t) => el("span", { class: "tag", text: t }));
      return el("td", { class: "tags" }, chips);
    }
    if (column === "note") return el("td", { class: "note-cell", title: run.note, text: run.note });
    const [section, ...rest] = column.split(".");
    const v = (run[section] || {})[rest.join(".")];
    return el("td", { class: typeof v === "number" ? "num" : null, text: GN.fmt(v) });
  }
  function runRow(state, run, depth, extraClass) {
    const box = el("input", { type: "checkbox", "aria-label": "select run",
      checked: state.selected.has(run.id), onchange: (e) => {
        if (e.target.checked) state.selected.add(run.id); else state.selected.delete(run.id);
        state.onSelect();
      } });
    return el("tr", { class: "run-row" + (extraClass || ""), "data-run": run.id },
      el("td", { class: "check" }, box),
      el("td", { class: "name", style: `padding-left: ${12 + 18 * depth}px` },
        el("a", { href: GN.runHref(run.id), class: "run-link", text: run.name }),
        el("span", { class: "run-id", text: run.id })),
      el("td", { text: run.project }), el("td", {}, GN.statusPill(run.status)),
      el("td", { class: "nowrap", text: GN.when(run.created_at) }),
      state.columns.map((c) => valueCell(run, c)));
  }
  function groupStatus(g) {
    const parts = [];
    if (g.running) parts.push(GN.statusPill("running"), ` ${g.running} `);
    if (g.failed) parts.push(GN.statusPill("failed"), ` ${g.failed} `);
    if (g.finished) parts.push(GN.statusPill("finished"), ` ${g.finished}`);
    return el("td", { class: "group-status" }, parts);
  }
  function groupRow(state, g, depth, score, onToggle) {
    const open = state.expanded.has(g.kind + ":" + g.key);
    const what = g.kind === "sweep" ? `sweep · ${g.runs} runs` + (g.trials !== g.runs
      ? ` · ${g.trials} trials` : "") : `project · ${g.runs} runs`;
    const best = score && g.best !== null ? `best ${label(scoreColumn(score))} ${GN.fmt(g.best)}`
      : "";
    const link = g.kind === "sweep" && g.runs >= 2 && g.runs <= 50 ? el("a", { class: "small",
      href: "/compare?sweep=" + encodeURIComponent(g.key), text: "compare" }) : null;
    return el("tr", { class: "group-row", "data-group": g.kind + ":" + g.key },
      el("td", { class: "check" }),
      el("td", { class: "name", style: `padding-left: ${12 + 18 * depth}px` },
        el("button", { class: "expander", type: "button", "aria-expanded": String(open),
          "aria-label": (open ? "collapse " : "expand ") + g.key, text: open ? "▾" : "▸",
          onclick: onToggle }),
        el("span", { class: "group-name", text: g.key }),
        el("span", { class: "run-id" }, [what, best].filter(Boolean).join(" · "), link)),
      el("td", { text: g.project }), groupStatus(g),
      el("td", { class: "nowrap", text: GN.when(g.created_at) }),
      state.columns.map((c) => el("td", { class: c === scoreColumn(score) ? "num best" : null,
        text: c === scoreColumn(score) && g.best !== null ? GN.fmt(g.best) : "" })));
  }
  function scoreColumn(score) { return score ? score.split(" ")[0] : null; }

  /* A sweep's runs, trial by trial: the trials best-first by their mean score (as the
     sweep picks its best), each trial's folds under it. Runs of no trial as they come. */
  function trialRows(state, data, depth) {
    const score = scoreColumn(data.score), desc = !data.score || !data.score.endsWith(" asc");
    const trials = new Map();
    for (const run of data.runs) {
      const t = run.config.trial;
      if (t === undefined) continue;
      if (!trials.has(t)) trials.set(t, []);
      trials.get(t).push(run);
    }
    if (!trials.size) return data.runs.map((r) => runRow(state, r, depth));
    const mean = (runs) => {
      const v = runs.map((r) => (r.summary || {})[score.replace(/^summary\./, "")])
        .filter((x) => typeof x === "number");
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
    };
    const list = [...trials].map(([t, runs]) => ({ t, runs, mean: score ? mean(runs) : null }));
    list.sort((a, b) => (a.mean === null) - (b.mean === null) ||
      (desc ? b.mean - a.mean : a.mean - b.mean) || a.t - b.t);
    const rows = [];
    for (const trial of list) {
      rows.push(el("tr", { class: "trial-row" }, el("td", { class: "check" }),
        el("td", { class: "name", style: `padding-left: ${12 + 18 * depth}px`,
          colspan: 4 + state.columns.length + 1 }, el("strong", { text: `trial ${trial.t}` }),
        el("span", { class: "run-id", text: `${trial.runs.length} folds` + (trial.mean === null
          ? "" : ` · mean ${label(score)} ${GN.fmt(trial.mean)}`) }))));
      trial.runs.sort((a, b) => (a.config.fold ?? 0) - (b.config.fold ?? 0));
      for (const run of trial.runs) rows.push(runRow(state, run, depth + 1, " fold-row"));
    }
    const rest = data.runs.filter((r) => r.config.trial === undefined);
    return rows.concat(rest.map((r) => runRow(state, r, depth)));
  }

  /* ------------------------------------------------------------------ the table */
  function header(state, redraw) {
    const cols = FIXED.concat(state.columns.map((c) => [c, label(c), c.split(".")[0]]));
    return el("tr", {}, el("th", { class: "check" }), cols.map(([key, text, section]) => {
      const sortable = sortKey(key) !== null;
      const [field, dir] = state.order.split(" ");
      const arrow = field === key ? (dir === "asc" ? " ▴" : " ▾") : "";
      const tag = section === "config" ? "cfg" : section === "summary" ? "final" : null;
      return el("th", { class: (sortable ? "sortable" : "") + (section ? " group-" + section : "")
        + (key === "name" ? " name-col" : ""), title: key, "data-key": key,
      onclick: sortable ? () => {
        const down = field === key ? dir === "asc" : key !== "name";
        state.order = key + (down ? " desc" : " asc");
        state.offset = 0;
        redraw();
      } : null }, tag ? el("span", { class: "group-tag", text: tag }) : null, text + arrow);
    }));
  }
  function bodyRows(state, rows, score, depth, redraw) {
    const out = [];
    for (const row of rows) {
      if (row.kind === "run") { out.push(runRow(state, row.run, depth)); continue; }
      const id = row.kind + ":" + row.key;
      out.push(groupRow(state, row, depth, score, () => {
        if (state.expanded.has(id)) state.expanded.delete(id);
        else state.expanded.set(id, { kind: row.kind, key: row.key, data: null });
        redraw();
      }));
      const open = state.expanded.get(id);
      if (!open || !open.data) continue;
      if (row.kind === "sweep") out.push(...trialRows(state, open.data, depth + 1));
      else out.push(...bodyRows(state, open.data.rows, open.data.score, depth + 1, redraw));
    }
    return out;
  }
  /* What an opened group shows: a sweep's runs (with trial and fold), a project's sweeps. */
  function expansion(state, group) {
    if (group.kind === "sweep") {
      const extra = ["config.trial", "config.fold"]
        .concat(state.score ? [scoreColumn(state.score)] : []);
      const columns = [...new Set(state.columns.concat(extra))].join(",");
      return GN.api("/api/runs", query(state, { group: "", sweep: group.key, offset: 0,
        limit: EXPAND_LIMIT, columns: columns, order_by: "config.trial, config.fold" }))
        .then((d) => Object.assign(d, { score: state.score }));
    }
    return GN.api("/api/runs", query(state, { group: "sweep", project: group.key, offset: 0,
      limit: EXPAND_LIMIT }));
  }
  GN.runsList = { readState, writeState, query, header, bodyRows, expansion, STATUSES, PAGE };
})(window.GN);
