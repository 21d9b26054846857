// The wallboard's reports view: pick a queue or an agent, a day and an interval; the rows
// of GET /api/reports as a bar chart of one column and a table, and the same as CSV.
// Same rules as wallboard.js: the admin token from localStorage, values in with
// textContent only. Below them, a heat map of the agents needed per weekday and interval
// of a typical week (GET /api/staffing).
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
    if ($("staffing-queue")) fillStaffingQueues();
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
    refreshStaffing(false);
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

  // --- the staffing heat map: agents needed per weekday × interval of a typical week ---
  // (GET /api/staffing). Built here, inside the reports section, so that the page's
  // template stays as it is.

  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const STAFFING_EVERY_MS = 600000;  // weeks of history: it hardly moves in ten minutes
  let staffingAt = 0;

  function buildStaffing() {
    const box = document.createElement("div");
    box.id = "staffing";
    const title = document.createElement("h3");
    title.textContent = "Agents needed: a typical week";
    const form = document.createElement("form");
    form.className = "report-controls";
    form.id = "staffing-form";
    const queue = document.createElement("select");
    queue.id = "staffing-queue";
    const days = document.createElement("input");
    days.type = "number";
    days.id = "staffing-days";
    days.min = "1";
    days.max = "366";
    days.value = "28";
    const interval = document.createElement("select");
    interval.id = "staffing-interval";
    interval.append(option("15", "15 minutes"), option("30", "30 minutes"), option("60", "hour"));
    interval.value = "30";
    for (const [text, control] of [["Queue", queue], ["Last days", days], ["Interval", interval]]) {
      const l = document.createElement("label");
      l.append(text + " ", control);
      form.append(l);
    }
    const status = document.createElement("p");
    status.id = "staffing-status";
    status.className = "muted";
    const chart = document.createElement("div");
    chart.id = "staffing-chart";
    chart.className = "chart";
    chart.style.overflowX = "auto";
    box.append(title, form, status, chart);
    $("reports").append(box);
    form.addEventListener("submit", (e) => e.preventDefault());
    for (const c of [queue, days, interval]) {
      c.addEventListener("change", () => refreshStaffing(true));
    }
  }

  function fillStaffingQueues() {
    const select = $("staffing-queue");
    const keep = select.value;
    select.replaceChildren(...names.queue.map((n) => option(n, n)));
    if (names.queue.includes(keep)) select.value = keep;
  }

  function minutesOf(hhmm) {
    return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  }

  function hhmm(minutes) {
    const pad = (n) => String(n).padStart(2, "0");
    return pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function renderHeatMap(rows, step) {
    // Columns: every interval from the first with calls to the last, on any weekday.
    const starts = rows.map((r) => minutesOf(r.interval_start));
    const first = Math.min(...starts), last = Math.max(...starts);
    const columns = [];
    for (let m = first; m <= last; m += step) columns.push(m);
    const cells = new Map(rows.map((r) => [r.weekday + " " + r.interval_start, r]));
    const max = Math.max(1, ...rows.map((r) => r.agents || 0));
    const L = 40, T = 18, CW = 26, CH = 22;
    const W = L + columns.length * CW, H = T + 7 * CH + 4;
    const chart = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
      "aria-label": "agents needed per weekday and interval" });
    WEEKDAYS.forEach((d, i) => {
      const t = svg("text", { x: 2, y: T + i * CH + 15, fill: "#8b9bab", "font-size": 11 });
      t.textContent = d;
      chart.append(t);
    });
    const every = Math.max(1, Math.round(60 / step));
    columns.forEach((m, j) => {
      if (j % every === 0) {
        const t = svg("text", { x: L + j * CW, y: 12, fill: "#8b9bab", "font-size": 10 });
        t.textContent = hhmm(m);
        chart.append(t);
      }
      WEEKDAYS.forEach((d, i) => {
        const r = cells.get(d + " " + hhmm(m));
        const agents = r && r.agents !== null ? r.agents : null;
        const share = agents === null ? 0 : agents / max;
        const rect = svg("rect", { x: L + j * CW, y: T + i * CH, width: CW - 2, height: CH - 2,
          rx: 2, fill: agents === null ? "#1b2430" : "rgba(88, 166, 255, " +
            (0.15 + 0.85 * share).toFixed(2) + ")",
          "data-cell": d + " " + hhmm(m), "data-agents": agents === null ? "" : agents });
        const tip = svg("title");
        tip.textContent = r
          ? d + " " + hhmm(m) + ": " + r.calls + " calls, handle time " +
            (r.aht === null ? "–" : r.aht + " s") + ", " +
            (agents === null ? "no handle time recorded" : agents + " agents (" +
              r.rostered + " rostered)")
          : d + " " + hhmm(m) + ": no calls";
        rect.append(tip);
        chart.append(rect);
        if (agents !== null) {
          const t = svg("text", { x: L + j * CW + (CW - 2) / 2, y: T + i * CH + 15,
            fill: share > 0.55 ? "#0d1117" : "#e6edf3", "font-size": 10,
            "text-anchor": "middle" });
          t.textContent = String(agents);
          chart.append(t);
        }
      });
    });
    $("staffing-chart").replaceChildren(chart);
  }

  async function refreshStaffing(now) {
    if (!$("staffing-queue").value) fillStaffingQueues();
    const queue = $("staffing-queue").value;
    if (!queue || (!now && Date.now() - staffingAt < STAFFING_EVERY_MS)) return;
    const step = Number($("staffing-interval").value);
    const params = new URLSearchParams({ queue: queue, days: $("staffing-days").value || "28",
      interval: String(step) });
    try {
      const answer = await (await get("/api/staffing?" + params.toString())).json();
      staffingAt = Date.now();
      if (!answer.rows.length) {
        $("staffing-status").textContent = "No calls to " + queue + " in the last " +
          answer.days + " days.";
        $("staffing-chart").replaceChildren();
        return;
      }
      $("staffing-status").textContent = "Erlang " + (answer.model === "erlang_a" ? "A" : "C") +
        ", " + Math.round(answer.level * 100) + " % answered within the queue's target, " +
        "mean of the last " + answer.days + " days; intervals with calls: " + answer.rows.length;
      renderHeatMap(answer.rows, step);
    } catch (e) {
      $("staffing-status").textContent = e.message;
    }
  }

  function start() {
    buildStaffing();
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
