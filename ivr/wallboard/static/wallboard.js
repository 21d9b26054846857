// The wallboard's behaviour: ask for the admin token once, poll the admin API, draw.
// Plain DOM, no framework. Every value from the server goes in with textContent, never
// as HTML; only the flow diagrams (SVG drawn by our own server's Graphviz) are parsed,
// and even those lose any script or event-handler attribute first.
"use strict";

(function () {
  const TOKEN_KEY = "ivr.adminToken";
  const POLL_MS = Number(document.body.dataset.pollMs) || 2000;
  const SLOW_POLL_MS = Number(document.body.dataset.slowPollMs) || 5000;
  const COLOURS = ["#58a6ff", "#3fb950", "#d29922", "#f85149", "#bc8cff", "#39c5cf", "#ff9bce"];
  const SVG_NS = "http://www.w3.org/2000/svg";

  let clockOffset = 0; // server time minus browser time, seconds
  let lastBoard = null;
  let pollTimer = null;
  let slowTimer = null;
  let flowVersion = null;
  const flowBadges = new Map(); // flow name -> Map(step -> {reached, dropped} text nodes)

  // --- the token -------------------------------------------------------------------

  function storedToken() {
    try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function saveToken(value) {
    try { localStorage.setItem(TOKEN_KEY, value); } catch (e) { /* private mode */ }
  }
  function forgetToken() {
    try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* private mode */ }
  }

  function tokenFromFragment() {
    const match = /(?:^#|&)token=([^&]*)/.exec(window.location.hash);
    if (!match) return;
    saveToken(decodeURIComponent(match[1]));
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  class Unauthorized extends Error {}

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    const token = storedToken();
    if (token) opts.headers["Authorization"] = "Bearer " + token;
    // Every change says JSON, even without a body: without an admin token the server
    // refuses any other POST, which is all another site's form could send.
    const method = (opts.method || "GET").toUpperCase();
    if (opts.json !== undefined || (method !== "GET" && method !== "HEAD")) {
      opts.headers["Content-Type"] = "application/json";
    }
    if (opts.json !== undefined) {
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    const response = await fetch(path, opts);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (response.status === 401) throw new Unauthorized((body && body.error) || "unauthorized");
    if (!response.ok) throw new Error((body && body.error) || ("HTTP " + response.status));
    return body;
  }

  function askForToken(message) {
    stopPolling();
    const dialog = document.getElementById("login");
    const error = document.getElementById("login-error");
    error.hidden = !message;
    error.textContent = message || "";
    document.getElementById("updated").textContent = "not connected";
    if (!dialog.open) dialog.showModal();
    document.getElementById("token").focus();
  }

  function refused() {
    askForToken(storedToken() ? "That token was refused." : null);
  }

  function onLogin(event) {
    event.preventDefault();
    const value = document.getElementById("token").value.trim();
    if (value) saveToken(value); else forgetToken();
    document.getElementById("token").value = "";
    document.getElementById("login").close();
    startPolling();
  }

  // --- helpers ---------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function percent(ratio) {
    return ratio === null || ratio === undefined ? "–" : Math.round(ratio * 100) + "%";
  }

  function serverNow() { return Date.now() / 1000 + clockOffset; }

  // "1 call", "2 calls", "0 calls": every count shown with a noun goes through here.
  function count(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function setField(root, name, text, cls) {
    const node = root.querySelector('[data-field="' + name + '"]');
    if (!node) return;
    node.textContent = text;
    node.classList.remove("amber", "red", "good");
    if (cls) node.classList.add(cls);
  }

  // --- queues ----------------------------------------------------------------------

  function slClass(q) {
    if (q.service_level === null || q.service_level === undefined) return null;
    if (q.service_level < 0.6) return "red";
    if (q.service_level < 0.8) return "amber";
    return "good";
  }

  function alertText(limits) {
    const parts = [];
    if ("longest_wait" in limits) parts.push("longest wait ≥ " + duration(limits.longest_wait));
    if ("waiting" in limits) parts.push("waiting ≥ " + limits.waiting);
    if ("service_level" in limits) parts.push("service level < " + percent(limits.service_level));
    if ("abandon_rate" in limits) parts.push("abandon rate > " + percent(limits.abandon_rate));
    return parts.join(", ");
  }

  function renderQueues(queues) {
    const box = document.getElementById("queues");
    const template = document.getElementById("queue-card");
    if (!queues.length) {
      box.replaceChildren(el("p", { class: "muted", text: "No queues in queues.yaml." }));
      return;
    }
    const seen = new Set();
    for (const q of queues) {
      const id = "queue-" + q.queue;
      seen.add(id);
      let card = document.getElementById(id);
      if (!card) {
        card = template.content.firstElementChild.cloneNode(true);
        card.id = id;
        card.dataset.queue = q.queue;
        card.querySelector(".name").textContent = q.queue;
        box.append(card);
      }
      // With `alerts:` in queues.yaml the server says which thresholds are past
      // (`alerting`); without, the card falls back to the service-level target.
      const limits = q.alerts || {};
      const past = new Set(q.alerting || []);
      const own = Object.keys(limits).length > 0;
      const target = q.service_level_target;
      const tooLong = own ? past.has("longest_wait")
        : target !== null && target !== undefined && q.longest_wait > target;
      const tooMany = own ? past.has("waiting") : q.waiting > 0 && tooLong;
      const slRed = own ? past.has("service_level") : slClass(q) === "red";
      setField(card, "waiting", String(q.waiting), tooMany ? "red" : null);
      setField(card, "longest_wait", duration(q.longest_wait), tooLong ? "red" : null);
      setField(card, "service_level", percent(q.service_level),
        slRed ? "red" : own && "service_level" in limits && q.service_level !== null ? "good"
          : own ? null : slClass(q));
      setField(card, "offered", String(q.offered));
      setField(card, "answered", String(q.answered));
      setField(card, "abandoned", String(q.abandoned), q.abandoned > 0 ? "amber" : null);
      setField(card, "overflowed", String(q.overflowed), q.overflowed > 0 ? "amber" : null);
      // texters waiting for an agent by text (chat queues only)
      const texts = card.querySelector('[data-field="texts_waiting"]');
      if (texts) {
        texts.hidden = texts.previousElementSibling.hidden = !q.chat;
        if (q.chat) setField(card, "texts_waiting", String(q.texts_waiting || 0),
          q.texts_waiting > 0 ? "amber" : null);
      }
      setField(card, "average_wait", duration(q.average_wait));
      setField(card, "average_talk", duration(q.average_talk));
      setField(card, "asa", duration(q.asa));
      setField(card, "aht", duration(q.aht));
      setField(card, "abandon_rate", percent(q.abandon_rate),
        past.has("abandon_rate") ? "red" : q.abandon_rate > 0.1 ? "amber" : null);
      const st = q.agents_by_status || {}, ss = q.agents_by_state || {};
      setField(card, "agents",
        (st.available || 0) + " available · " + (st.break || 0) + " on break · " +
        (st.offline || 0) + " offline — " + (ss.offered || 0) + " ringing · " +
        (ss["on-call"] || 0) + " on call · " + (ss["wrap-up"] || 0) + " wrap-up");
      const alerting = own ? past.size > 0 : tooLong || slRed;
      card.classList.toggle("alert", alerting);
      card.title = own ? "Alerts: " + alertText(limits) +
        (past.size ? " — past: " + Array.from(past).join(", ") : "") : "";
    }
    for (const child of Array.from(box.children)) {
      if (!seen.has(child.id)) child.remove();
    }
  }

  // --- callers waiting ----------------------------------------------------------------

  function renderWaiting(rows) {
    const body = document.querySelector("#waiting tbody");
    if (!rows.length) {
      body.replaceChildren(el("tr", {}, [el("td", { colspan: "6", class: "muted", text: "Nobody is waiting." })]));
      markOverflow();
      return;
    }
    // The poll lists the first callers of each queue; a row says how many more wait.
    const counts = {};
    for (const q of (lastBoard && lastBoard.queues) || []) counts[q.queue] = q.waiting;
    const trs = [];
    rows.forEach((w, i) => {
      trs.push(el("tr", { "data-caller": w.id }, [
        el("td", { text: w.queue }),
        el("td", { text: String(w.position) }),
        el("td", { text: (w.from || "unknown") + (w.kind === "callback" ? " (callback)" : "") }),
        el("td", { text: duration(w.waited) }),
        el("td", { text: String(w.priority) }),
        el("td", { text: w.state }),
      ]));
      const next = rows[i + 1];
      const more = (counts[w.queue] || 0) - w.position;
      if ((!next || next.queue !== w.queue) && more > 0) {
        trs.push(el("tr", { class: "more" }, [el("td", { colspan: "6", class: "muted",
          text: "… and " + more + " more waiting in " + w.queue })]));
      }
    });
    body.replaceChildren(...trs);
    markOverflow();
  }

  // --- agents ----------------------------------------------------------------------

  const ACTIONS = [["available", "Available"], ["break", "Break"], ["offline", "Offline"]];

  async function setStatus(agentId, status, button) {
    button.disabled = true;
    try {
      await api("/api/agents/" + encodeURIComponent(agentId) + "/status",
        { method: "PUT", json: { status: status } });
      showBanner(null);
      await refresh();
    } catch (e) {
      if (e instanceof Unauthorized) refused();
      else showBanner("Could not set " + agentId + " " + status + ": " + e.message);
    } finally {
      button.disabled = false;
    }
  }

  function renderAgents(agents) {
    const body = document.querySelector("#agents tbody");
    const now = serverNow();
    const seen = new Set();
    for (const a of agents) {
      const id = "agent-" + a.id;
      seen.add(id);
      let row = document.getElementById(id);
      if (!row) {
        const actions = el("td", { class: "actions" }, ACTIONS.map(([status, label]) => {
          const b = el("button", { type: "button", "data-set": status, text: label });
          b.addEventListener("click", () => setStatus(a.id, status, b));
          return b;
        }));
        row = el("tr", { id: id, "data-agent": a.id }, [
          el("td", { class: "who" }), el("td", { class: "status" }), el("td", { class: "state" }),
          el("td", { class: "since" }), el("td", { class: "calls" }), actions,
        ]);
        body.append(row);
      }
      const who = row.querySelector(".who");
      who.replaceChildren(document.createTextNode(a.name || a.id),
        el("span", { class: "sub", text: a.id + (a.source === "api" ? " · changed via API" : "") }));
      const status = row.querySelector(".status");
      status.replaceChildren(el("span", { class: "pill status-" + a.status, text: a.status }));
      if (a.break_reason) {
        // why on break (agents.yaml breaks:)
        status.append(el("span", { class: "sub reason", text: a.break_reason }));
      }
      status.dataset.status = a.status;
      const state = row.querySelector(".state");
      state.textContent = a.state === "idle" ? "idle" : a.state;
      if (a.call) {
        // the call in progress: queue, caller and (once connected) talk time
        const parts = [a.call.queue || "", a.call.from || "unknown caller"];
        if (a.call.talk !== null && a.call.talk !== undefined) {
          parts.push(duration(a.call.talk));
        }
        state.append(el("span", { class: "sub call", text: parts.filter(Boolean).join(" · ") }));
        if (a.call.help !== null && a.call.help !== undefined) {
          // the agent asked for help on this call (the desk's "ask for help")
          state.append(el("span", { class: "pill help", title: "asked for help",
            text: "help" + (a.call.help ? ": " + a.call.help : "") }));
        }
      }
      if (a.call && a.state === "on-call") state.append(monitorButtons(a.call.id));
      row.classList.toggle("asks-help", !!(a.call && a.call.help !== null &&
                                          a.call.help !== undefined));
      state.className = "state state-" + a.state;
      state.dataset.state = a.state;
      row.querySelector(".since").textContent = duration(now - a.since);
      row.querySelector(".calls").textContent = String(a.calls_today);
      for (const b of row.querySelectorAll("button[data-set]")) {
        b.classList.toggle("current", b.dataset.set === a.status);
      }
    }
    for (const row of Array.from(body.querySelectorAll("tr"))) {
      if (!seen.has(row.id)) row.remove();
    }
    if (!agents.length) {
      body.replaceChildren(el("tr", {}, [el("td", { colspan: "6", class: "muted", text: "No agents." })]));
    }
    markOverflow();
  }

  // --- supervision: Listen / Whisper / Barge on a call in progress ---------------------
  // The supervisor is chosen once in a select above the agents' table (kept in this
  // browser); their phone rings and joins the call (POST /api/calls/{sid}/monitor).
  const SUPERVISOR_KEY = "ivr.wallboard.supervisor";
  const MODES = [["listen", "Listen"], ["whisper", "Whisper"], ["barge", "Barge"]];
  let supervisorsLoaded = false;

  function chosenSupervisor() {
    try { return localStorage.getItem(SUPERVISOR_KEY) || ""; } catch (e) { return ""; }
  }

  async function loadSupervisors() {
    if (supervisorsLoaded) return;
    supervisorsLoaded = true;
    let people = [];
    try { people = await api("/api/supervisors"); } catch (e) { supervisorsLoaded = false; return; }
    const table = document.getElementById("agents-scroll");
    if (!table || !people.length) return;
    const select = el("select", { id: "supervisor", "aria-label": "Supervisor who listens" },
      [el("option", { value: "", text: "Supervisor…" })].concat(people.map((p) =>
        el("option", { value: p.id, text: (p.name || p.id) + " (" + p.id + ")" }))));
    select.value = chosenSupervisor();
    select.addEventListener("change", () => {
      try { localStorage.setItem(SUPERVISOR_KEY, select.value); } catch (e) { /* private mode */ }
    });
    table.before(el("p", { class: "supervisor-pick" }, [
      el("label", { for: "supervisor", text: "Listen, whisper or barge as " }), select]));
  }

  async function monitor(callSid, mode, button) {
    const supervisor = chosenSupervisor();
    if (mode !== "end" && !supervisor) {
      showBanner("Choose a supervisor above the agents' table first.");
      return;
    }
    button.disabled = true;
    try {
      const path = "/api/calls/" + encodeURIComponent(callSid) + "/monitor";
      if (mode === "end") await api(path, { method: "DELETE" });
      else await api(path, { method: "POST", json: { supervisor: supervisor, mode: mode } });
      showBanner(null);
    } catch (e) {
      if (e instanceof Unauthorized) refused();
      else showBanner("Could not " + mode + ": " + e.message);
    } finally {
      button.disabled = false;
    }
  }

  function monitorButtons(callSid) {
    const buttons = MODES.concat([["end", "End"]]).map(([mode, label]) => {
      const b = el("button", { type: "button", "data-monitor": mode, text: label,
        title: mode === "end" ? "hang up the supervisor's phone" : label + " from your phone" });
      b.addEventListener("click", () => monitor(callSid, mode, b));
      return b;
    });
    return el("span", { class: "monitor", "data-call": callSid }, buttons);
  }

  // A table wider than the screen (a phone) says so: a hint, and edges that fade while
  // there is more to see on that side (see .scroll in the CSS).
  function markOverflow() {
    for (const box of document.querySelectorAll(".scroll[data-cue]")) {
      const more = box.scrollWidth - box.clientWidth;
      box.classList.toggle("overflows", more > 1);
      box.classList.toggle("at-start", box.scrollLeft <= 1);
      box.classList.toggle("at-end", box.scrollLeft >= more - 1);
      const hint = document.getElementById(box.dataset.cue);
      if (hint) hint.hidden = more <= 1;
    }
  }

  // --- the last hour chart -----------------------------------------------------------

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  function renderChart(history, now) {
    const W = 600, H = 160, P = 24;
    const names = Object.keys(history).sort();
    let max = 1;
    for (const name of names) for (const p of history[name]) max = Math.max(max, p.waiting);
    const x = (ts) => P + (W - 2 * P) * (1 - Math.min(3600, Math.max(0, now - ts)) / 3600);
    const y = (n) => H - P - (H - 2 * P) * (n / max);
    const chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "callers waiting per queue over the last hour", preserveAspectRatio: "none" });
    chart.append(svg("line", { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: "#2a3746" }));
    for (const [label, value] of [[String(max), max], ["0", 0]]) {
      const t = svg("text", { x: 2, y: y(value) + 4, fill: "#8b9bab", "font-size": 10 });
      t.textContent = label;
      chart.append(t);
    }
    for (const [label, ago] of [["-60 min", 3600], ["-30", 1800], ["now", 0]]) {
      const t = svg("text", { x: x(now - ago) - 12, y: H - 6, fill: "#8b9bab", "font-size": 10 });
      t.textContent = label;
      chart.append(t);
    }
    const legend = document.getElementById("chart-legend");
    legend.replaceChildren();
    names.forEach((name, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const points = history[name].map((p) => x(p.ts).toFixed(1) + "," + y(p.waiting).toFixed(1));
      if (points.length === 1) points.push((x(now)).toFixed(1) + "," + y(history[name][0].waiting).toFixed(1));
      if (points.length) {
        chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: colour,
          "stroke-width": 2, "data-queue": name }));
      }
      const swatch = el("span");
      swatch.style.background = colour;
      legend.append(el("li", {}, [swatch, document.createTextNode(name)]));
    });
    document.getElementById("chart").replaceChildren(chart);
  }

  // --- voicemails ------------------------------------------------------------------

  async function markHeard(id, button) {
    button.disabled = true;
    try {
      await api("/api/voicemails/" + encodeURIComponent(id) + "/heard", { method: "POST" });
      await refreshSlow();
    } catch (e) {
      if (e instanceof Unauthorized) refused();
      else showBanner("Could not mark the voicemail heard: " + e.message);
      button.disabled = false;
    }
  }

  function renderVoicemails(items) {
    const list = document.getElementById("voicemails");
    if (!items.length) {
      list.replaceChildren(el("li", { class: "muted", text: "No voicemails." }));
      return;
    }
    list.replaceChildren(...items.map((v) => {
      const when = new Date(v.time * 1000).toLocaleString();
      const parts = [
        el("div", { class: "meta", text: when + " · box " + v.box + " · from " +
          (v.caller || "unknown") + " · " + duration(v.duration) }),
        el("p", { class: "text", text: v.transcription ||
          (v.transcription_status ? "(transcription " + v.transcription_status + ")" : "(no transcription yet)") }),
      ];
      if (v.recording_url && /^https?:\/\//.test(v.recording_url)) {
        parts.push(el("a", { href: v.recording_url, target: "_blank", rel: "noopener noreferrer", text: "recording" }));
        parts.push(document.createTextNode(" "));
      }
      if (v.heard === null || v.heard === undefined) {
        const b = el("button", { type: "button", "data-heard": v.id, text: "Mark heard" });
        b.addEventListener("click", () => markHeard(v.id, b));
        parts.push(b);
      } else {
        parts.push(el("span", { class: "muted", text: "heard" }));
      }
      return el("li", { class: "vm" + (v.heard ? " heard" : ""), id: "vm-" + v.id }, parts);
    }));
  }

  // --- abandoned callers ----------------------------------------------------------

  async function callBack(id, button) {
    button.disabled = true;
    try {
      const got = await api("/api/abandoned/" + encodeURIComponent(id) + "/callback", { method: "POST" });
      showBanner(null);
      button.replaceWith(el("span", { class: "muted", text: "queued, #" + got.position }));
    } catch (e) {
      if (e instanceof Unauthorized) refused();
      else showBanner("Could not call back: " + e.message);
      button.disabled = false;
    }
  }

  function renderAbandoned(rows) {
    const body = document.querySelector("#abandoned tbody");
    if (!rows.length) {
      body.replaceChildren(el("tr", {}, [el("td", { colspan: "6", class: "muted", text: "Nobody gave up today." })]));
      return;
    }
    body.replaceChildren(...rows.map((r) => {
      let action;
      if (r.callback) action = el("span", { class: "muted", text: "callback asked" });
      else if (r.reached) action = el("span", { class: "muted", text: "reached later" });
      else {
        action = el("button", { type: "button", "data-callback": r.id, text: "Call back" });
        action.addEventListener("click", () => callBack(r.id, action));
      }
      return el("tr", { id: "abandoned-" + r.id, class: r.short ? "short" : "" }, [
        el("td", { text: new Date(r.at * 1000).toLocaleTimeString() }),
        el("td", { text: r.queue }),
        el("td", { text: r.number }),
        el("td", { text: r.wait === null ? "–" : duration(r.wait) + (r.short ? " (short)" : "") }),
        el("td", { text: duration(serverNow() - r.at) }),
        el("td", {}, [action]),
      ]);
    }));
  }

  // --- flows -----------------------------------------------------------------------

  function cleanSvg(text) {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    if (!root || root.nodeName !== "svg") return null;
    for (const bad of root.querySelectorAll("script, foreignObject")) bad.remove();
    for (const node of root.querySelectorAll("*")) {
      for (const attr of Array.from(node.attributes)) {
        if (/^on/i.test(attr.name) || /javascript:/i.test(attr.value)) node.removeAttribute(attr.name);
      }
    }
    return document.importNode(root, true);
  }

  function badgeDiagram(svgRoot, steps) {
    // Graphviz names each node <g class="node"><title>step</title>...; put the counts under it.
    const badges = new Map();
    for (const node of svgRoot.querySelectorAll("g.node")) {
      const title = node.querySelector("title");
      const texts = node.querySelectorAll("text");
      if (!title || !texts.length || !steps.has(title.textContent)) continue;
      const last = texts[texts.length - 1];
      const t = document.createElementNS(SVG_NS, "text");
      t.setAttribute("x", last.getAttribute("x"));
      t.setAttribute("y", String(Number(last.getAttribute("y")) + 21));
      t.setAttribute("text-anchor", "middle");
      t.setAttribute("class", "badge");
      t.setAttribute("fill", "#1f6feb");
      node.append(t);
      badges.set(title.textContent, t);
    }
    return badges;
  }

  function renderFlow(detail) {
    const id = "flow-" + detail.name;
    let box = document.getElementById(id);
    if (!box || box.dataset.version !== detail.version) {
      const diagram = el("div", { class: "diagram" });
      let badges = new Map();
      const stepNames = new Set(detail.step_list.map((s) => s.name));
      const drawing = detail.svg ? cleanSvg(detail.svg) : null;
      if (drawing) {
        diagram.append(drawing);
        badges = badgeDiagram(drawing, stepNames);
      } else {
        diagram.hidden = true;
      }
      const table = el("table", { class: "steps" }, [
        el("thead", {}, [el("tr", {}, ["Step", "Action", "Reached", "Dropped"].map((h) => el("th", { text: h })))]),
        el("tbody"),
      ]);
      const fresh = el("article", { class: "flow", id: id }, [
        el("h3", { text: detail.name + " (" + detail.file.split("/").pop() + ")", title: detail.file }),
        el("p", { class: "muted", text: "numbers " + detail.numbers.join(", ") + " · " + detail.channels.join(", ") }),
        diagram,
        el("details", {}, [el("summary", { text: "steps: callers reached and dropped" }),
          el("div", { class: "scroll" }, [table])]),
        el("details", {}, [el("summary", { text: "Mermaid source" }), el("pre", { text: detail.mermaid })]),
      ]);
      fresh.dataset.version = detail.version;
      flowBadges.set(detail.name, badges);
      if (box) box.replaceWith(fresh); else document.getElementById("flows").append(fresh);
      box = fresh;
    }
    const badges = flowBadges.get(detail.name) || new Map();
    const rows = detail.step_list.map((s) => {
      const badge = badges.get(s.name);
      if (badge) badge.textContent = "reached " + s.reached + " · dropped " + s.dropped;
      return el("tr", { "data-step": s.name }, [el("td", { text: s.name }), el("td", { text: s.action }),
        el("td", { text: String(s.reached) }), el("td", { text: String(s.dropped), class: s.dropped ? "amber" : "" })]);
    });
    box.querySelector("table.steps tbody").replaceChildren(...rows);
  }

  async function refreshFlows() {
    const status = await api("/api/flows");
    const line = document.getElementById("flows-status");
    line.textContent = "version " + (status.version || "(none)") + (status.ok ? " · all files valid" :
      " · last change refused: " + status.problems.map((p) => p.location + ": " + p.message).join("; "));
    line.className = status.ok ? "muted" : "error";
    if (status.version !== flowVersion) {
      document.getElementById("flows").replaceChildren();
      flowBadges.clear();
      flowVersion = status.version;
    }
    for (const f of status.flows) renderFlow(await api("/api/flows/" + encodeURIComponent(f.name)));
  }

  // --- polling ---------------------------------------------------------------------

  function showBanner(message) {
    const banner = document.getElementById("banner");
    banner.hidden = !message;
    banner.textContent = message || "";
  }

  async function refresh() {
    const board = await api("/api/wallboard");
    clockOffset = board.now - Date.now() / 1000;
    lastBoard = board;
    renderQueues(board.queues);
    renderWaiting(board.waiting);
    renderAgents(board.agents);
    loadSupervisors();
    renderChart(board.history, board.now);
    document.getElementById("updated").textContent =
      "updated " + new Date(board.now * 1000).toLocaleTimeString();
    document.getElementById("summary").textContent =
      count(board.calls_in_progress, "call", "calls") + " in the flows · " +
      count(board.unheard_voicemails, "unheard voicemail", "unheard voicemails") +
      ((board.help || []).length ? " · " + count(board.help.length, "call asks", "calls ask") +
        " for help" : "");
    document.body.dataset.connected = "yes";
  }

  async function refreshSlow() {
    const items = await api("/api/voicemails");
    renderVoicemails(items);
    renderAbandoned(await api("/api/abandoned"));
    await refreshFlows();
  }

  async function tick() {
    try {
      await refresh();
      showBanner(null);
    } catch (e) {
      if (e instanceof Unauthorized) { refused(); return; }
      showBanner("Cannot reach the server (" + e.message + "); retrying.");
      document.body.dataset.connected = "no";
    }
    pollTimer = setTimeout(tick, POLL_MS);
  }

  async function slowTick() {
    try {
      await refreshSlow();
    } catch (e) {
      if (e instanceof Unauthorized) { refused(); return; }
      showBanner("Flows or voicemails unavailable: " + e.message);
    }
    slowTimer = setTimeout(slowTick, SLOW_POLL_MS);
  }

  function stopPolling() {
    clearTimeout(pollTimer);
    clearTimeout(slowTimer);
    pollTimer = slowTimer = null;
  }

  function startPolling() {
    stopPolling();
    tick();
    slowTick();
  }

  // Between polls, keep the clocks ticking (time in state, waits).
  setInterval(() => {
    if (!lastBoard) return;
    const now = serverNow();
    for (const a of lastBoard.agents) {
      const cell = document.querySelector("#agent-" + CSS.escape(a.id) + " .since");
      if (cell) cell.textContent = duration(now - a.since);
    }
  }, 1000);

  for (const box of document.querySelectorAll(".scroll[data-cue]")) {
    box.addEventListener("scroll", markOverflow, { passive: true });
  }
  window.addEventListener("resize", markOverflow);
  document.getElementById("login-form").addEventListener("submit", onLogin);
  document.getElementById("signout").addEventListener("click", () => { forgetToken(); askForToken(null); });
  tokenFromFragment();
  startPolling();
})();
