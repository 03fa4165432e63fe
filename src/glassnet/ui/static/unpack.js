/* glassnet static report: open the gzipped data and scripts, then start the page.
   The report embeds them packed (see ui/report.py): plotly.js is a third of its size. */
"use strict";
(async function () {
  async function unpack(id) {
    const text = atob(document.getElementById(id).textContent.trim());
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }
  try {
    const [data, code] = await Promise.all([unpack("glassnet-data-packed"), unpack("glassnet-code-packed")]);
    const json = document.createElement("script");
    json.type = "application/json";
    json.id = "glassnet-data";
    json.textContent = data;
    document.body.appendChild(json);
    const script = document.createElement("script");
    script.textContent = code;  // runs now: plotly, then the dashboard's scripts
    document.body.appendChild(script);
    window.GN.start();
  } catch (err) {
    document.getElementById("main").textContent =
      "This report could not be opened (" + err.message + "); it needs a browser from 2023 or later.";
  }
})();
