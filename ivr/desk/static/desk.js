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
    Promise.all([tick().catch(function (e) { banner(e.message); }), pollChat()])
      .then(function () { $("banner").dataset.ok = "1"; })
      .finally(function () { busy = false; document.body.dataset.polled = String(Date.now()); });
  }

  renderRooms();
  loop();
  setInterval(loop, POLL);
})();
