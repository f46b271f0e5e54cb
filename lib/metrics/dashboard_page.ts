/**
 * The live dashboard the metrics server serves at `/`: one self-contained HTML page (inline CSS
 * and vanilla JS, no external resources) that fetches `/status.json` every
 * `DASHBOARD_REFRESH_INTERVAL_MS` and draws
 *
 * - a header: this node's overlay address, its lease and the estimated overlay size;
 * - the ring as an SVG circle, angle = address / 2^160 × 360° clockwise from the top: this node,
 *   a dot per connection and a line from this node to it, coloured by kind (a relayed link is a
 *   dashed line through its relay, the `via` node);
 * - a table of connections and a table of peers.
 *
 * Stable hooks for tests and scrapers (the page's contract; data only ever goes in through
 * `textContent`/`setAttribute`, never as markup):
 *
 *   body[data-state]            "loading" | "ok" | "error"
 *   #self-address, #lease, #size, #updated, #error   text
 *   svg#ring g#self[data-address]
 *   svg#ring g.link.kind-KIND[data-address][data-via?]   one per connection
 *   table#connections tr.conn.kind-KIND[data-address]    one per connection
 *   table#peers tr.peer[data-key]                        one per peer
 *   ul#legend li.kind-KIND                               one per kind
 */

/** How often the page re-reads `/status.json`, in milliseconds. */
export const DASHBOARD_REFRESH_INTERVAL_MS = 2_000;

/** The path the page reads the status from (served by the metrics server). */
export const DASHBOARD_STATUS_PATH = "/status.json";

/** The dashboard page, a complete HTML document (UTF-8). */
export const DASHBOARD_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ipop dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:1em;color:#222}
header span{margin-right:1.5em} code,td.mono{font-family:ui-monospace,monospace;font-size:12px}
#error{color:#b00} main{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
svg{width:420px;max-width:100%;border:1px solid #ddd;border-radius:6px}
table{border-collapse:collapse;margin-bottom:1em} th,td{padding:2px 8px;text-align:left}
tr:nth-child(even){background:#f4f4f4} th{border-bottom:1px solid #999}
#legend{list-style:none;padding:0} #legend li{display:inline-block;margin-right:1em}
#legend li::before{content:"";display:inline-block;width:12px;height:4px;margin-right:4px;
 vertical-align:middle;background:var(--c)}
</style></head>
<body data-state="loading">
<header><h1>ipop</h1>
<span>node <code id="self-address">…</code></span><span>lease <b id="lease">…</b></span>
<span>estimated size <b id="size">…</b></span><span>updated <span id="updated">never</span></span>
<div id="error"></div></header>
<main><section><svg id="ring" viewBox="0 0 400 400" role="img" aria-label="the overlay ring">
<circle cx="200" cy="200" r="160" fill="none" stroke="#bbb" stroke-width="2"/>
<g id="links"></g><g id="self"><circle r="7" fill="#000"/></g></svg>
<ul id="legend"></ul></section>
<section><h2>Connections</h2><table id="connections"><thead><tr><th>kind</th><th>address</th>
<th>endpoint</th><th>rtt ms</th><th>age s</th><th>rx</th><th>tx</th><th>via</th></tr></thead>
<tbody></tbody></table>
<h2>Peers</h2><table id="peers"><thead><tr><th>public key</th><th>endpoint</th><th>state</th>
<th>handshake s ago</th><th>rx</th><th>tx</th><th>sessions</th></tr></thead><tbody></tbody></table>
</section></main>
<script>
"use strict";
const REFRESH_MS = ${DASHBOARD_REFRESH_INTERVAL_MS};
const COLOURS = {near: "#1f77b4", far: "#ff7f0e", shortcut: "#2ca02c", relay: "#9467bd",
  leaf: "#8c564b", fixed: "#e377c2", other: "#7f7f7f"};
const SVG = "http://www.w3.org/2000/svg";
const C = 200, R = 160;
const $ = (id) => document.getElementById(id);
const kindOf = (k) => Object.hasOwn(COLOURS, k) ? k : "other";
/** Angle in radians of a 40-hex address: its top 32 bits / 2^32 of a turn. */
const angle = (hex) => (parseInt(String(hex).slice(0, 8), 16) || 0) / 2 ** 32 * 2 * Math.PI;
const round = (v) => Math.round(v * 10) / 10;
const point = (hex) => [round(C + R * Math.sin(angle(hex))), round(C - R * Math.cos(angle(hex)))];
function el(ns, tag, attrs = {}, text) {
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
const fmt = (n, div = 1) => n === null || n === undefined ? "–" : (n / div).toFixed(div > 1 ? 1 : 0);
function legend() {
  for (const [k, c] of Object.entries(COLOURS)) {
    const li = el(null, "li", {class: "kind-" + k, style: "--c:" + c}, k);
    $("legend").append(li);
  }
}
function drawRing(s) {
  const [sx, sy] = point(s.address);
  const self = $("self");
  self.setAttribute("data-address", s.address);
  self.setAttribute("transform", "translate(" + sx + " " + sy + ")");
  const links = [];
  for (const c of s.connections) {
    const kind = kindOf(c.kind), colour = COLOURS[kind];
    const g = el(SVG, "g", {class: "link kind-" + kind, "data-address": c.address});
    const [x, y] = point(c.address);
    let path = sx + "," + sy + " " + x + "," + y;
    if (c.via) {
      g.setAttribute("data-via", c.via);
      const [vx, vy] = point(c.via);
      path = sx + "," + sy + " " + vx + "," + vy + " " + x + "," + y;
    }
    g.append(el(SVG, "polyline", {points: path, fill: "none", stroke: colour,
      "stroke-width": 1.5, "stroke-dasharray": c.via ? "5 4" : "none"}));
    g.append(el(SVG, "circle", {cx: x, cy: y, r: 5, fill: colour}));
    g.append(el(SVG, "title", {}, kind + " " + c.address + (c.via ? " via " + c.via : "")));
    links.push(g);
  }
  $("links").replaceChildren(...links);
}
function row(cls, attrs, cells) {
  const tr = el(null, "tr", {class: cls, ...attrs});
  for (const [text, mono] of cells) tr.append(el(null, "td", mono ? {class: "mono"} : {}, text));
  return tr;
}
function drawTables(s) {
  $("connections").tBodies[0].replaceChildren(...s.connections.map((c) =>
    row("conn kind-" + kindOf(c.kind), {"data-address": c.address}, [[c.kind], [c.address, 1],
      [c.endpoint ?? "–", 1], [fmt(c.rtt_ms)], [fmt(c.ageMs, 1000)], [c.rxBytes], [c.txBytes],
      [c.via ?? "", 1]])));
  $("peers").tBodies[0].replaceChildren(...s.peers.map((p) =>
    row("peer", {"data-key": p.publicKey}, [[p.publicKey, 1], [p.endpoint ?? "–", 1], [p.state],
      [fmt(p.lastHandshakeAgoMs, 1000)], [p.rxBytes], [p.txBytes], [p.sessions]])));
}
function render(s) {
  $("self-address").textContent = s.address;
  const l = s.lease;
  $("lease").textContent = l ? l.state + (l.address ? " " + l.address : "") + " in " + l.network +
    " (" + l.subnet + ")" + (l.expiresInMs === null ? "" : ", " + fmt(l.expiresInMs, 1000) + " s left") : "–";
  $("size").textContent = s.estimatedSize;
  drawRing(s);
  drawTables(s);
}
async function refresh() {
  try {
    const res = await fetch("${DASHBOARD_STATUS_PATH}", {cache: "no-store"});
    if (!res.ok) throw new Error("HTTP " + res.status + ": " + (await res.text()).trim());
    render(await res.json());
    $("error").textContent = "";
    $("updated").textContent = new Date().toLocaleTimeString();
    document.body.dataset.state = "ok";
  } catch (err) {
    $("error").textContent = "Cannot read the status: " + err.message;
    document.body.dataset.state = "error";
  }
}
legend();
refresh();
setInterval(refresh, REFRESH_MS);
</script></body></html>
`;
