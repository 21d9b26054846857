// The wallboard's reports view: pick a queue or an agent, a day and an interval; the rows
// of GET /api/reports as a bar chart of one column and a table, and the same as CSV.
// Same rules as wallboard.js: the admin token from localStorage, values in with
// textContent only.
"use strict";

(function () {
  const TOKEN_KEY = "ivr.adminToken";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const REFRESH_MS = 30000;
  const SKIP = new Set(["interval_start", "queue", "agent"]);
  const DEFAULT_METRIC = { queue: "offered", agent: "handled" };

  const $ = (id) => document.getElementById(id);
  let names = { queue: [], agent: [] };
  let lastRows = null;
  let lastColumns = null;

  function token() {
    try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  async function get(path) {
    const headers = {};
    const t = token();
    if (t) headers["Authorization"] = "Bearer " + t;
    const response = await fetch(path, { headers: headers });
    if (!response.ok) {
      let message = "HTTP " + response.status;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return response;
  }

  function today() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  function option(value, text) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }

  function query(format) {
    const kind = $("report-kind").value;
    const name = $("report-name").value;
    const day = $("report-day").value || today();
    const interval = $("report-interval").value;
    const params = new URLSearchParams({ interval: interval, format: format, to: day });
    if (interval === "day") {
      const from = new Date(day + "T00:00:00Z");
      from.setUTCDate(from.getUTCDate() - 6);
      params.set("from", from.toISOString().slice(0, 10));
    } else {
      params.set("from", day);
    }
    params.set(kind, name);
    return "/api/reports?" + params.toString();
  }

  async function loadNames() {
    const [queues, agents] = await Promise.all([
      get("/api/queues").then((r) => r.json()), get("/api/agents").then((r) => r.json())]);
    names = { queue: queues.map((q) => q.queue), agent: agents.map((a) => a.id) };
    fillNames();
  }

  function fillNames() {
    const kind = $("report-kind").value;
    const select = $("report-name");
    const keep = select.value;
    select.replaceChildren(...names[kind].map((n) => option(n, n)));
    if (names[kind].includes(keep)) select.value = keep;
  }

  function fillMetrics(columns) {
    const select = $("report-metric");
    const wanted = select.value || DEFAULT_METRIC[$("report-kind").value];
    const metrics = columns.filter((c) => !SKIP.has(c));
    if (select.options.length !== metrics.length ||
        [...select.options].some((o, i) => o.value !== metrics[i])) {
      select.replaceChildren(...metrics.map((c) => option(c, c)));
    }
    select.value = metrics.includes(wanted) ? wanted : metrics[0];
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  function label(start, interval) {
    // "2026-12-02T09:15:00-05:00": the time of day, or the date for daily rows
    return interval === "day" ? start.slice(5, 10) : start.slice(11, 16);
  }

  function renderChart(rows, metric, interval) {
    const W = 720, H = 200, P = 28;
    const values = rows.map((r) => (r[metric] === null ? null : Number(r[metric])));
    const max = Math.max(1e-9, ...values.filter((v) => v !== null));
    const band = (W - 2 * P) / Math.max(1, rows.length);
    const chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": metric + " per interval", preserveAspectRatio: "none" });
    chart.append(svg("line", { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: "#2a3746" }));
    for (const [text, value] of [[String(Math.round(max * 100) / 100), max], ["0", 0]]) {
      const t = svg("text", { x: 2, y: H - P - (H - 2 * P) * (value / max) + 4,
        fill: "#8b9bab", "font-size": 10 });
      t.textContent = text;
      chart.append(t);
    }
    values.forEach((v, i) => {
      if (v === null || v <= 0) return;
      const h = (H - 2 * P) * (v / max);
      const bar = svg("rect", { x: (P + i * band + band * 0.1).toFixed(1),
        y: (H - P - h).toFixed(1), width: Math.max(1, band * 0.8).toFixed(1),
        height: h.toFixed(1), fill: "#58a6ff", "data-interval": rows[i].interval_start });
      const tip = svg("title");
      tip.textContent = label(rows[i].interval_start, interval) + ": " + v;
      bar.append(tip);
      chart.append(bar);
    });
    const every = Math.max(1, Math.ceil(rows.length / 12));
    rows.forEach((r, i) => {
      if (i % every) return;
      const t = svg("text", { x: (P + i * band).toFixed(1), y: H - 8, fill: "#8b9bab",
        "font-size": 10 });
      t.textContent = label(r.interval_start, interval);
      chart.append(t);
    });
    $("report-chart").replaceChildren(chart);
  }

  function renderTable(columns, rows, interval) {
    const head = document.createElement("tr");
    for (const c of columns) {
      const th = document.createElement("th");
      th.textContent = c;
      head.append(th);
    }
    $("report-table").tHead.replaceChildren(head);
    const body = $("report-table").tBodies[0];
    body.replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.interval = r.interval_start;
      for (const c of columns) {
        const td = document.createElement("td");
        const v = r[c];
        td.textContent = c === "interval_start" ? label(v, interval) : (v === null ? "–" : String(v));
        if (v === null) td.className = "empty";
        tr.append(td);
      }
      return tr;
    }));
  }

  function render() {
    if (!lastRows) return;
    const interval = $("report-interval").value;
    renderChart(lastRows, $("report-metric").value, interval);
    renderTable(lastColumns, lastRows, interval);
  }

  async function refresh() {
    if (!$("report-name").value) {
      try { await loadNames(); } catch (e) { $("report-status").textContent = e.message; return; }
      if (!$("report-name").value) {
        $("report-status").textContent = "No " + $("report-kind").value + "s yet.";
        return;
      }
    }
    try {
      const answer = await (await get(query("json"))).json();
      lastRows = answer.rows;
      lastColumns = answer.columns;
      fillMetrics(answer.columns);
      $("report-status").textContent = answer.report + " report, " + answer.timezone +
        ", " + answer.rows.length + " intervals";
      render();
    } catch (e) {
      $("report-status").textContent = e.message;
    }
  }

  async function downloadCsv() {
    try {
      const blob = await (await get(query("csv"))).blob();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = $("report-kind").value + "-" + $("report-name").value + "-" +
        ($("report-day").value || today()) + ".csv";
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    } catch (e) {
      $("report-status").textContent = e.message;
    }
  }

  function start() {
    $("report-day").value = today();
    $("report-kind").addEventListener("change", () => {
      fillNames();
      $("report-metric").value = "";
      refresh();
    });
    for (const id of ["report-name", "report-day", "report-interval"]) {
      $(id).addEventListener("change", refresh);
    }
    $("report-metric").addEventListener("change", render);
    $("report-csv").addEventListener("click", downloadCsv);
    $("report-form").addEventListener("submit", (e) => e.preventDefault());
    refresh();
    setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
    // The token may be entered after this script ran: try again once the dialog closes.
    const dialog = $("login");
    if (dialog) dialog.addEventListener("close", refresh);
  }

  start();
})();
