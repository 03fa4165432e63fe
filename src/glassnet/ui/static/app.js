/* glassnet dashboard: shared helpers. Every user-supplied text goes in with textContent. */
"use strict";
window.GN = window.GN || {};
(function (GN) {
  const SVG_NS = "http://www.w3.org/2000/svg";

  /* el("div", {class: "x", onclick: f}, child, "text", [more]) — strings become text nodes. */
  GN.el = function (tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  };
  GN.svg = function (tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  };
  function setAttrs(node, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = String(v);
      else node.setAttribute(k, String(v));
    }
  }
  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  GN.clear = function (node) { while (node.firstChild) node.removeChild(node.firstChild); return node; };

  /* Data: from the server, or (static report) from the JSON embedded in the page. */
  GN.isStatic = function () { return document.body.dataset.mode === "static"; };
  GN.dataKey = function (path, params) {
    const entries = Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== "");
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return path + "|" + entries.map(([k, v]) => k + "=" + v).join("&");
  };
  let embedded = null;
  GN.api = async function (path, params) {
    if (GN.isStatic()) {
      if (embedded === null) embedded = JSON.parse(document.getElementById("glassnet-data").textContent);
      const key = GN.dataKey(path, params);
      if (!(key in embedded)) throw new Error("not in this report: " + key);
      return embedded[key];
    }
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (Array.isArray(v)) v.forEach((item) => query.append(k, item));  // ?run=a&run=b
      else if (v !== undefined && v !== null && v !== "") query.append(k, v);
    }
    const url = path + (query.toString() ? "?" + query.toString() : "");
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  };
  GN.runHref = function (id) {
    return GN.isStatic() ? "#run-" + encodeURIComponent(id) : "/runs/" + encodeURIComponent(id);
  };

  /* Numbers and times for people. */
  GN.fmt = function (v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v !== "number") return typeof v === "object" ? JSON.stringify(v) : String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  };
  GN.when = function (t) {
    if (!t) return "—";
    const d = new Date(t * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  };
  GN.duration = function (start, end) {
    if (!start || !end) return "—";
    const s = end - start;
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(1) + " h";
  };
  GN.statusPill = function (status) {
    return GN.el("span", { class: "pill pill-" + String(status).replace(/[^a-z]/g, ""), text: status });
  };

  /* A section with a heading, an optional note and a body. */
  GN.section = function (id, title, note) {
    const body = GN.el("div", { class: "section-body" });
    const node = GN.el("section", { class: "card", id: id },
      GN.el("h2", { text: title }), note ? GN.el("p", { class: "muted note", text: note }) : null, body);
    node.body = body;
    return node;
  };
  GN.kvTable = function (obj) {
    const keys = Object.keys(obj || {}).sort();
    if (!keys.length) return GN.el("p", { class: "muted", text: "Nothing recorded." });
    return GN.el("table", { class: "kv" }, GN.el("tbody", {},
      keys.map((k) => GN.el("tr", {}, GN.el("th", { text: k }), GN.el("td", { text: GN.fmt(obj[k]) })))));
  };
  GN.table = function (columns, rows, opts) {
    opts = opts || {};
    return GN.el("div", { class: "table-wrap" }, GN.el("table", { class: "data" + (opts.compact ? " compact" : "") },
      GN.el("thead", {}, GN.el("tr", {}, columns.map((c, i) => GN.el("th", {
        class: rows.some((r) => typeof r[i] === "number") && rows.every((r) => typeof r[i] !== "string" || r[i] === "…") ? "num" : null, text: c })))),
      GN.el("tbody", {}, rows.map((row) => GN.el("tr", {}, row.map((cell) =>
        cell instanceof Node ? GN.el("td", {}, cell)
          : GN.el("td", { class: typeof cell === "number" ? "num" : null, text: GN.fmt(cell) })))))));
  };
  GN.error = function (node, err) {
    GN.clear(node).appendChild(GN.el("p", { class: "error", text: "Could not load: " + err.message }));
  };

  function start() {
    const page = document.body.dataset.page;
    const main = document.getElementById("main");
    const render = GN.pages && GN.pages[page];
    if (!render) { GN.error(main, new Error("unknown page " + page)); return; }
    render(main).catch((err) => { GN.error(main, err); console.error(err); });
  }
  GN.start = start;  // the static report calls it once its scripts are unpacked (unpack.js)
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
})(window.GN);
