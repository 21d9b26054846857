// The agent desk: polls the JSON API about every second and acts through it.
// Every request sends the session's CSRF token (rendered into the page by the server).
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("desk-data").textContent);
  var me = data.me;
  var POLL = Number(document.body.dataset.pollMs) || 1000;
  var names = {};
  data.agents.forEach(function (a) { names[a.id] = a.name; });
  var $ = function (id) { return document.getElementById(id); };

  var agent = null;      // GET /api/agents/ME
  var callSid = null;    // the call shown (offer, call in progress, wrap-up)
  var context = null;    // GET /api/calls/SID
  var lastOffer = null;  // the last call offered (see tick)
  var busy = false;

  function banner(text) {
    var b = $("banner");
    b.textContent = text || "";
    b.hidden = !text;
  }

  function api(method, path, body) {
    var init = {method: method, credentials: "same-origin",
                headers: {"X-CSRF-Token": data.csrf, "Accept": "application/json"}};
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 401) { location.reload(); throw new Error("signed out"); }
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var err = new Error(j.error || ("HTTP " + r.status));
          err.status = r.status;
          throw err;
        }
        return j;
      });
    });
  }

  function act(method, path, body) {
    banner("");
    return api(method, path, body).then(function (j) { tick(); return j; })
      .catch(function (e) { banner(e.message); });
  }

  function mmss(seconds) {
    seconds = Math.max(0, Math.round(seconds || 0));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  // --- status ------------------------------------------------------------------------

  function renderAgent() {
    var pill = $("status-pill");
    pill.textContent = agent.status + (agent.break_reason ? " (" + agent.break_reason + ")" : "");
    pill.className = "pill status-" + agent.status;
    pill.dataset.status = agent.status;
    $("state").textContent = agent.state && agent.state !== "idle" ? agent.state : "";
    $("state").dataset.state = agent.state || "idle";
    document.querySelectorAll("#status-panel button[data-set]").forEach(function (b) {
      b.classList.toggle("current", b.dataset.set === agent.status);
    });
  }

  document.querySelectorAll("#status-panel button[data-set]").forEach(function (b) {
    b.addEventListener("click", function () {
      var body = {status: b.dataset.set};
      var reason = $("break-reason");
      if (b.dataset.set === "break" && reason && reason.value) { body.reason = reason.value; }
      act("PUT", "/api/agents/" + encodeURIComponent(me.id) + "/status", body);
    });
  });

  // --- the call ----------------------------------------------------------------------

  function fact(dl, label, value) {
    if (value === undefined || value === null || value === "") { return; }
    dl.appendChild(el("dt", label));
    dl.appendChild(el("dd", typeof value === "object" ? JSON.stringify(value) : value));
  }

  function renderCall() {
    var state = agent ? agent.state : "idle";
    var offered = state === "offered" && callSid;
    var live = (state === "on-call" || state === "wrap-up") && callSid;
    $("no-call").hidden = !!(offered || live);
    $("offer").hidden = !offered;
    // a call ringing shows what the caller did and the script too: all but the controls
    $("call").hidden = !(offered || live);
    $("callhead").hidden = !live;
    $("wrapup").hidden = !(state === "wrap-up" && callSid);
    if (!callSid) { return; }
    var c = context || {};
    var who = c.name ? c.name + " " + (c.number || "") : (c.number || "call " + callSid);
    var where = [c.queue, c.waited !== undefined ? "waited " + mmss(c.waited) : ""]
      .filter(Boolean).join(" · ");
    document.querySelectorAll("[data-field=who]").forEach(function (e) { e.textContent = who; });
    document.querySelectorAll("[data-field=where]").forEach(function (e) { e.textContent = where; });
    if (!context) { $("controls").hidden = true; $("consult-from").hidden = true; return; }
    var flags = [];
    if (context.held) { flags.push("on hold"); }
    if (context.consult) { flags.push("consulting"); }
    if (context.help) { flags.push("help asked"); }
    $("call-flags").textContent = flags.join(" · ");
    $("call-flags").hidden = !flags.length;
    var dl = $("caller");
    dl.textContent = "";
    fact(dl, "Number", context.number);
    fact(dl, "Name", context.name);
    fact(dl, "Place", context.place);
    fact(dl, "Queue", context.queue);
    fact(dl, "Waited", mmss(context.waited));
    $("script").innerHTML = context.script_html || "";  // rendered and escaped by the server
    $("hold").textContent = context.held ? "Resume" : "Hold";
    var consult = context.consult;
    // the agent consulted sees who asks them; the call's controls stay with that agent
    var consulted = !!(consult && consult.agent === me.id && context.agent !== me.id);
    $("controls").hidden = !live || state !== "on-call" || consulted;
    $("consult-from").hidden = !consulted;
    if (consulted) {
      var by = names[consult.by] || consult.by || "An agent";
      $("consult-from").textContent = consult.three_way
        ? "Three-way call with " + by + " and the caller."
        : by + " is consulting you about this call (the caller is on hold): answer on your phone.";
    }
    $("consult").hidden = !consult;
    // while a consult goes on, only its own buttons apply (hold and hang-up are refused)
    $("transfer").hidden = !!consult;
    $("hold").hidden = !!consult;
    $("hangup").hidden = !!consult;
    if (consult) {
      var target = consult.agent ? (names[consult.agent] || consult.agent)
        : (consult.to || consult.target || "");
      $("consult-who").textContent = (consult.three_way ? "Three-way with " : "Consulting ") +
        target + ":";
      $("consult-three").hidden = !!consult.three_way;
    }
    var steps = $("steps");
    steps.textContent = "";
    (context.steps || []).forEach(function (s) {
      steps.appendChild(el("li", s.flow + " › " + s.step + (s.input ? " — " + s.input : "")));
    });
    var vars = $("vars");
    vars.textContent = "";
    Object.keys(context.vars || {}).forEach(function (k) { fact(vars, k, context.vars[k]); });
    var prev = $("previous");
    prev.textContent = "";
    var previous = context.previous || context.previous_contacts || context.contacts || [];
    previous.forEach(function (c) {
      var when = c.start || c.started || c.at || c.when;
      var agents = (c.agents || (c.agent ? [c.agent] : [])).map(function (id) {
        return names[id] || id;
      }).join(", ");
      var text = [when ? new Date((typeof when === "number" ? when * 1000 : when)).toLocaleString() : "",
                  c.queue, agents, c.outcome, c.disposition, c.notes].filter(Boolean).join(" · ");
      prev.appendChild(el("li", text));
    });
    if (!previous.length) { prev.appendChild(el("li", "none", "muted")); }
    var select = $("disposition");
    var wanted = (context.dispositions || []).join("|");
    if (select.dataset.options !== wanted) {
      select.textContent = "";
      select.appendChild(el("option", "—"));
      select.firstChild.value = "";
      (context.dispositions || []).forEach(function (d) {
        var o = el("option", d); o.value = d; select.appendChild(o);
      });
      select.dataset.options = wanted;
    }
  }

  function callPath(suffix) { return "/api/calls/" + encodeURIComponent(callSid) + suffix; }

  $("hold").addEventListener("click", function () {
    act("POST", callPath("/hold"), {hold: !(context && context.held)});
  });
  $("hangup").addEventListener("click", function () {
    if (confirm("Hang up on the caller?")) { act("POST", callPath("/hangup"), {}); }
  });
  $("transfer-kind").addEventListener("change", function () {
    var kind = $("transfer-kind").value;
    $("transfer-queue").hidden = kind !== "queue";
    $("transfer-agent").hidden = kind !== "agent";
    $("transfer-number").hidden = kind !== "number";
  });
  $("transfer").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var kind = $("transfer-kind").value;
    var to = kind === "queue" ? "queue:" + $("transfer-queue").value
      : kind === "agent" ? "agent:" + $("transfer-agent").value
      : $("transfer-number").value.trim();
    act("POST", callPath("/transfer"), {to: to, warm: $("transfer-warm").checked});
  });
  $("consult-complete").addEventListener("click", function () {
    act("POST", callPath("/transfer/complete"), {three_way: false});
  });
  $("consult-three").addEventListener("click", function () {
    act("POST", callPath("/transfer/complete"), {three_way: true});
  });
  $("consult-cancel").addEventListener("click", function () {
    act("POST", callPath("/transfer/cancel"), {});
  });
  $("help").addEventListener("submit", function (ev) {
    ev.preventDefault();
    act("POST", callPath("/help"), {note: $("help-note").value}).then(function () {
      $("help-note").value = "";
    });
  });
  $("wrapup").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = {notes: $("notes").value};
    if ($("disposition").value) { body.disposition = $("disposition").value; }
    act("POST", callPath("/wrapup"), body).then(function () { $("notes").value = ""; });
  });

  // --- chat --------------------------------------------------------------------------

  var inbox = "agent:" + me.id;
  var rooms = {};        // room -> {messages: [], unread: n}
  var order = ["team"].concat(data.queues.map(function (q) { return "queue:" + q; }));
  var active = "team";
  var last = {};         // polled room -> last id
  var polled = ["team"].concat(data.queues.map(function (q) { return "queue:" + q; }), [inbox]);
  var loaded = {};

  function roomOf(name) {
    if (!rooms[name]) {
      rooms[name] = {messages: [], unread: 0, seen: {}};
      if (order.indexOf(name) < 0) { order.push(name); }
    }
    return rooms[name];
  }
  order.forEach(roomOf);

  function label(name) {
    if (name.indexOf("agent:") === 0) { var id = name.slice(6); return "@" + (names[id] || id); }
    if (name.indexOf("queue:") === 0) { return "#" + name.slice(6); }
    return "#team";
  }

  function renderRooms() {
    var nav = $("rooms");
    nav.textContent = "";
    order.forEach(function (name) {
      var b = el("button", label(name));
      b.type = "button";
      b.dataset.room = name;
      if (name === active) { b.className = "current"; b.setAttribute("aria-current", "true"); }
      var r = rooms[name];
      if (r.unread) { b.appendChild(el("span", r.unread, "badge")); }
      b.addEventListener("click", function () { open(name); });
      nav.appendChild(b);
    });
  }

  function renderMessages() {
    var list = $("messages");
    var atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    list.textContent = "";
    roomOf(active).messages.forEach(function (m) {
      var li = el("li", null, "msg" + (m.from === me.id ? " mine" : "") + (m.kind === "help" ? " help" : ""));
      li.dataset.id = m.id;
      var head = el("span", (names[m.from] || m.name || m.from) + " · " +
        new Date(m.at * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}), "who");
      li.appendChild(head);
      li.appendChild(el("span", (m.kind === "help" ? "Help asked: " : "") + m.text, "text"));
      list.appendChild(li);
    });
    if (atBottom) { list.scrollTop = list.scrollHeight; }
  }

  function open(name) {
    active = name;
    roomOf(name).unread = 0;
    renderRooms();
    renderMessages();
  }

  // `fresh`: a message that arrived since the page loaded (counted unread elsewhere)
  function add(name, m, fresh) {
    var r = roomOf(name);
    if (r.seen[m.id]) { return false; }
    r.seen[m.id] = true;
    r.messages.push(m);
    if (r.messages.length > 500) { r.messages.shift(); }
    if (fresh && name !== active && m.from !== me.id) { r.unread += 1; }
    return true;
  }

  function pollRoom(polledName) {
    var q = last[polledName] ? "?after=" + encodeURIComponent(last[polledName]) : "";
    return api("GET", "/api/chat/" + encodeURIComponent(polledName) + q).then(function (j) {
      var changed = false;
      var fresh = !!loaded[polledName];
      j.messages.forEach(function (m) {
        // the inbox holds every direct message; each shows in its own room (agent:OTHER)
        var name = polledName === inbox ? m.room : polledName;
        if (add(name, m, fresh)) { changed = true; }
        if (m.kind === "help") { addHelp(m); }
      });
      if (j.last) { last[polledName] = j.last; }
      loaded[polledName] = true;
      return changed;
    });
  }

  function pollChat() {
    return Promise.all(polled.map(function (name) {
      return pollRoom(name).catch(function () { return false; });
    })).then(function (changes) {
      renderRooms();
      if (changes.some(Boolean)) { renderMessages(); }
    });
  }

  var helpSeen = {};
  function addHelp(m) {
    var list = $("help-requests");
    if (!list || helpSeen[m.id]) { return; }
    helpSeen[m.id] = true;
    var none = list.querySelector(".muted");
    if (none) { none.remove(); }
    var li = el("li", null, "help");
    li.dataset.call = m.call || "";
    li.appendChild(el("strong", names[m.from] || m.name || m.from));
    li.appendChild(el("span", " " + m.text + (m.call ? " (call " + m.call + ")" : "")));
    list.insertBefore(li, list.firstChild);
  }

  $("chat-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = $("chat-text");
    var text = input.value.trim();
    if (!text) { return; }
    api("POST", "/api/chat/" + encodeURIComponent(active), {text: text}).then(function (m) {
      input.value = "";
      // a direct message comes back in the inbox too, under its own id there: that copy
      // is the one shown: poll it now
      if (active.indexOf("agent:") !== 0) { add(active, m, false); renderMessages(); } else { pollChat(); }
    }).catch(function (e) { banner(e.message); });
  });

  $("dm-to").addEventListener("change", function () {
    var id = $("dm-to").value;
    if (!id) { return; }
    roomOf("agent:" + id);
    open("agent:" + id);
    $("dm-to").value = "";
  });

  // --- supervision and recording (one block; docs/routing.md "Supervision") ----------
  // Beside the call controls: pause / resume the call's recording (409: nothing records
  // it). For a supervisor: Listen / Whisper / Barge / End on each help request (their own
  // phone rings and joins that call).
  (function () {
    var buttons = document.querySelector("#controls .buttons");
    var recPaused = {};  // call sid -> paused (as this page last set it)
    if (buttons) {
      var rec = document.createElement("button");
      rec.type = "button";
      rec.id = "recording";
      rec.textContent = "Pause recording";
      rec.addEventListener("click", function () {
        if (!callSid) { return; }
        var sid = callSid, paused = !recPaused[sid];
        act("POST", callPath("/recording"), {paused: paused}).then(function (j) {
          if (j && j.result === "ok") { recPaused[sid] = paused; }
          rec.textContent = recPaused[sid] ? "Resume recording" : "Pause recording";
        });
      });
      buttons.appendChild(rec);
      setInterval(function () {  // follow the call shown
        rec.textContent = callSid && recPaused[callSid] ? "Resume recording" : "Pause recording";
      }, 1000);
    }
    if (me.role !== "supervisor") { return; }
    var modes = [["listen", "Listen"], ["whisper", "Whisper"], ["barge", "Barge"], ["end", "End"]];
    function decorate(li) {
      var sid = li.dataset.call;
      if (!sid || li.querySelector(".monitor")) { return; }
      var span = el("span", null, "monitor");
      modes.forEach(function (m) {
        var b = el("button", m[1]);
        b.type = "button";
        b.dataset.monitor = m[0];
        b.addEventListener("click", function () {
          var path = "/api/calls/" + encodeURIComponent(sid) + "/monitor";
          if (m[0] === "end") { act("DELETE", path); }
          else { act("POST", path, {supervisor: me.id, mode: m[0]}); }
        });
        span.appendChild(b);
      });
      li.appendChild(span);
    }
    var list = $("help-requests");
    if (!list) { return; }
    Array.prototype.forEach.call(list.querySelectorAll("li"), decorate);
    new MutationObserver(function () {
      Array.prototype.forEach.call(list.querySelectorAll("li"), decorate);
    }).observe(list, {childList: true});
    // the agent calls in progress (GET /api/supervision/calls), every 3 s
    var live = el("ul", null, "live-calls");
    live.id = "live-calls";
    var heading = el("h3", "Calls in progress");
    list.parentNode.insertBefore(heading, list.nextSibling);
    heading.parentNode.insertBefore(live, heading.nextSibling);
    function renderLive(calls) {
      live.textContent = "";
      if (!calls.length) { live.appendChild(el("li", "None.", "muted")); return; }
      calls.forEach(function (c) {
        var li = el("li");
        li.dataset.call = c.call;
        li.appendChild(el("strong", c.name));
        li.appendChild(el("span", " " + [c.queue, c.from, mmss(c.talk)].filter(Boolean).join(" · ") +
          (c.monitor ? " (" + c.monitor.mode + ": " + (names[c.monitor.supervisor] || c.monitor.supervisor) + ")" : "")));
        decorate(li);
        live.appendChild(li);
      });
    }
    function pollLive() {
      api("GET", "/api/supervision/calls").then(renderLive).catch(function () { /* next time */ });
    }
    pollLive();
    setInterval(pollLive, 3000);
  })();

  // --- text conversations with texters (GET /api/conversations, one shown at a time) -----
  // The transcript is read again with each poll, so what the agent sends from the phone
  // shows here too: the phone and the desk are two ways into the same conversations.

  var convs = [];        // the agent's conversations (offered, active, wrap), by #N
  var convId = null;     // the one shown
  var conv = null;       // its detail: GET /api/conversations/ID
  var convSeen = {};     // id -> messages counted when it was last shown (for the badge)
  var convShown = "";    // what the transcript shows (id and length): redraw on change only

  function convPath(id, suffix) {
    return "/api/conversations/" + encodeURIComponent(id) + (suffix || "");
  }

  function convLabel(c) {
    var who = c.number || c.texter;
    return (c.n ? "#" + c.n + " " : "") + who + " · " + c.queue;
  }

  function renderConvTabs() {
    var nav = $("conv-tabs");
    nav.textContent = "";
    $("no-conv").hidden = convs.length > 0;
    nav.hidden = !convs.length;
    convs.forEach(function (c) {
      var b = el("button", convLabel(c));
      b.type = "button";
      b.dataset.conv = c.id;
      b.dataset.state = c.state;
      if (c.id === convId) { b.className = "current"; b.setAttribute("aria-current", "true"); }
      if (c.state === "offered") { b.appendChild(el("span", "new", "badge ring")); }
      else if (c.state === "wrap") { b.appendChild(el("span", "wrap-up", "badge quiet")); }
      var unread = c.id === convId ? 0 : c.messages - (convSeen[c.id] || 0);
      if (unread > 0 && c.state !== "offered") { b.appendChild(el("span", unread, "badge")); }
      b.addEventListener("click", function () { showConv(c.id); });
      nav.appendChild(b);
    });
  }

  var drafts = {};       // id -> a reply typed but not sent, kept across tab switches

  function showConv(id) {
    if (convId) { drafts[convId] = $("conv-text").value; }
    convId = id;
    conv = null;
    convShown = "";
    $("conv-text").value = drafts[id] || "";
    renderConvTabs();
    return pollConv();
  }

  function renderTranscript() {
    var list = $("conv-messages");
    var shown = conv.id + ":" + conv.transcript.length;
    if (shown === convShown) { return; }
    var atBottom = !convShown || convShown.split(":")[0] !== conv.id ||
      list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    convShown = shown;
    list.textContent = "";
    conv.transcript.forEach(function (m) {
      var mine = m.by === "agent" && m.agent === me.id;
      var li = el("li", null, "msg by-" + m.by + (mine ? " mine" : ""));
      var who = m.by === "texter" ? (conv.name || conv.number)
        : m.by === "agent" ? (m.name || names[m.agent] || m.agent || "Agent") : "Service";
      li.appendChild(el("span", who + " · " +
        new Date(m.at * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) +
        (m.by === "agent" && m.source === "phone" ? " · from the phone" : ""), "who"));
      li.appendChild(el("span", m.body, "text"));
      (m.media || []).forEach(function (a) {
        var link = el("a", a.type || "attachment");
        link.href = a.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        li.appendChild(link);
      });
      list.appendChild(li);
    });
    if (atBottom) { list.scrollTop = list.scrollHeight; }
  }

  function renderConv() {
    $("conv").hidden = !conv;
    if (!conv) { return; }
    var c = conv;
    $("conv-who").textContent = (c.n ? "#" + c.n + " " : "") +
      (c.name ? c.name + " " : "") + c.number + (c.channel === "whatsapp" ? " (WhatsApp)" : "");
    $("conv-where").textContent = [c.queue, "waited " + mmss(c.waited),
      c.stopped ? "the customer opted out" : ""].filter(Boolean).join(" · ");
    var stateText = {offered: "offered", active: "active", wrap: "wrap-up", ended: "ended",
                     waiting: "waiting"}[c.state] || c.state;
    $("conv-state").textContent = stateText;
    $("conv-state").dataset.state = c.state;
    var mine = c.agent === me.id;
    $("conv-offer").hidden = !(c.state === "offered" && c.offered_to === me.id);
    $("conv-form").hidden = !(c.state === "active" && mine);
    $("conv-controls").hidden = !(c.state === "active" && mine);
    $("conv-wrapup").hidden = !(c.state === "wrap" && mine);
    renderTranscript();
    convSeen[c.id] = c.transcript.length;
    $("conv-script").innerHTML = c.script_html || "";  // rendered and escaped by the server
    var select = $("conv-transfer-queue");
    var wanted = (c.queues || []).join("|");
    if (select.dataset.options !== wanted) {
      select.textContent = "";
      (c.queues || []).forEach(function (q) {
        var o = el("option", q); o.value = q; select.appendChild(o);
      });
      select.dataset.options = wanted;
    }
    var disp = $("conv-disposition");
    var codes = (c.dispositions || []).join("|");
    if (disp.dataset.options !== codes) {
      disp.textContent = "";
      disp.appendChild(el("option", "—"));
      disp.firstChild.value = "";
      (c.dispositions || []).forEach(function (d) {
        var o = el("option", d); o.value = d; disp.appendChild(o);
      });
      disp.dataset.options = codes;
    }
    var dl = $("conv-texter");
    dl.textContent = "";
    fact(dl, "Number", c.number);
    fact(dl, "Name", c.name);
    fact(dl, "Place", c.place);
    fact(dl, "Channel", c.channel === "whatsapp" ? "WhatsApp" : "SMS");
    fact(dl, "First message", c.first);
    var steps = $("conv-steps");
    steps.textContent = "";
    (c.steps || []).forEach(function (s) {
      steps.appendChild(el("li", s.flow + " › " + s.step + (s.input ? " — " + s.input : "")));
    });
    var vars = $("conv-vars");
    vars.textContent = "";
    Object.keys(c.vars || {}).forEach(function (k) { fact(vars, k, c.vars[k]); });
    var prev = $("conv-previous");
    prev.textContent = "";
    (c.previous || []).forEach(function (p) {
      prev.appendChild(el("li", [new Date(p.start * 1000).toLocaleString(), p.queue,
        (p.agents || []).map(function (id) { return names[id] || id; }).join(", "),
        p.outcome, p.disposition, p.notes].filter(Boolean).join(" · ")));
    });
    if (!(c.previous || []).length) { prev.appendChild(el("li", "none", "muted")); }
  }

  function pollConv() {
    if (!convId) { conv = null; renderConv(); return Promise.resolve(); }
    var id = convId;
    return api("GET", convPath(id)).then(function (c) {
      if (id !== convId) { return; }
      conv = c;
      renderConv();
      renderConvTabs();
    }).catch(function (e) {
      if (id !== convId) { return; }
      if (e.status === 404 || e.status === 403) {  // gone, or no longer this agent's
        convId = null; conv = null; renderConv(); return;
      }
      throw e;
    });
  }

  var title = document.title;

  function pollConvs() {
    return api("GET", "/api/conversations").then(function (list) {
      convs = list;
      list.forEach(function (c) {
        // what a conversation holds when it first shows up is not news; what comes later is
        if (convSeen[c.id] === undefined) {
          convSeen[c.id] = c.state === "offered" ? 0 : c.messages;
        }
      });
      var offers = list.filter(function (c) { return c.state === "offered"; }).length;
      document.title = (offers ? "(" + offers + ") New text · " : "") + title;
      var ids = list.map(function (c) { return c.id; });
      if (convId && ids.indexOf(convId) < 0) {
        // gone from the list (wrapped up, transferred, declined, taken by someone else)
        delete drafts[convId];
        convId = null; conv = null; convShown = "";
        $("conv-text").value = "";
      }
      if (!convId && list.length) {
        // an offer first (it rings), else the first active one
        var offer = list.filter(function (c) { return c.state === "offered"; })[0];
        convId = (offer || list[0]).id;
        $("conv-text").value = drafts[convId] || "";
      }
      renderConvTabs();
      return pollConv();
    });
  }

  function convAct(suffix, body) {
    if (!convId) { return Promise.resolve(null); }
    banner("");
    var id = convId;
    return api("POST", convPath(id, suffix), body || {}).then(function (j) {
      return pollConvs().then(function () { return j; });
    }).catch(function (e) { banner(e.message); return null; });
  }

  $("conv-accept").addEventListener("click", function () { convAct("/accept"); });
  $("conv-decline").addEventListener("click", function () { convAct("/decline"); });
  $("conv-end").addEventListener("click", function () {
    if (confirm("End this conversation? The texter is thanked and it goes to wrap-up.")) {
      convAct("/end");
    }
  });
  $("conv-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = $("conv-text");
    var text = input.value.trim();
    if (!text) { return; }
    $("conv-send").disabled = true;
    var id = convId;
    convAct("/messages", {text: text}).then(function (j) {
      if (j) { drafts[id] = ""; if (convId === id) { input.value = ""; } }
    }).finally(function () { $("conv-send").disabled = false; input.focus(); });
  });
  $("conv-transfer").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = $("conv-transfer-queue").value;
    if (q) { convAct("/transfer", {to: "queue:" + q}); }
  });
  $("conv-wrapup").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = {notes: $("conv-notes").value};
    if ($("conv-disposition").value) { body.disposition = $("conv-disposition").value; }
    convAct("/wrapup", body).then(function (j) { if (j) { $("conv-notes").value = ""; } });
  });

  // --- the poll ----------------------------------------------------------------------

  function tick() {
    return api("GET", "/api/agents/" + encodeURIComponent(me.id)).then(function (a) {
      agent = a;
      renderAgent();
      // `call`: the call in progress or in wrap-up; `offer`: the call ringing. Where the
      // record names no call in progress, the call just offered is the one answered.
      if (a.offer) { lastOffer = a.offer; }
      var working = a.state === "on-call" || a.state === "wrap-up";
      var sid = a.call || a.offer || (working ? lastOffer : null);
      if (!sid) { lastOffer = null; }
      if (!sid) { callSid = null; context = null; $("call-note").hidden = true; renderCall(); return; }
      return api("GET", "/api/calls/" + encodeURIComponent(sid)).then(function (c) {
        $("call-note").hidden = true;
        callSid = sid;
        context = c;
        renderCall();
      }).catch(function (e) {
        callSid = sid;
        context = null;
        renderCall();
        // the call's details may be gone already (it just ended) or not kept: say so quietly
        $("call-note").hidden = false;
        $("call-note").textContent = e.status === 404 ? "No details for this call." : e.message;
      });
    });
  }

  function loop() {
    if (busy) { return; }
    busy = true;
    Promise.all([tick().catch(function (e) { banner(e.message); }), pollChat(),
                 pollConvs().catch(function (e) { banner(e.message); })])
      .then(function () { $("banner").dataset.ok = "1"; })
      .finally(function () { busy = false; document.body.dataset.polled = String(Date.now()); });
  }

  renderRooms();
  loop();
  setInterval(loop, POLL);
})();
