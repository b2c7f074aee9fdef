/* The inbox's copilot panel and the team / SLA box (agent_desk/routes.py; templates
 * agent_desk_copilot.html and agent_desk_team.html), beside inbox.js.
 *
 * inbox.js tells us what happens through events on #inbox: "inbox:selected" (a handoff was
 * opened), "inbox:messages" (new messages of the live feed), "inbox:queue" (the queue was drawn
 * again). Text from customers, articles and templates is only put in with textContent; only
 * http(s) article URLs become links. Calls that change state send the CSRF token.
 */
(function () {
  "use strict";

  var root = document.getElementById("inbox");
  if (!root) return;
  var csrf = root.getAttribute("data-csrf");
  var NOTIFIED_KEY = "destek-sla-notified";
  var desk = { breaches: [], agents: [], copilot: null, heartbeatSeconds: 5, notifications: 0, loading: null, again: false };
  window.DestekDesk = desk;

  function $(id) { return document.getElementById(id); }
  function inbox() { return window.DestekInbox || {}; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function link(url, text) {
    if (typeof url === "string" && /^https?:\/\//i.test(url)) {
      var a = el("a", null, text || url);
      a.href = url;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      return a;
    }
    return el("span", null, text || "");
  }

  function api(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrf } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : "request failed (HTTP " + response.status + ")");
        return data;
      });
    });
  }

  /* --- copilot -------------------------------------------------------------------------------- */

  function insertIntoReply(text) {
    var box = $("reply-text");
    var start = box.selectionStart || 0, end = box.selectionEnd || 0;
    var before = box.value.slice(0, start);
    var glue = before && !/\s$/.test(before) ? "\n" : "";
    box.value = before + glue + text + box.value.slice(end);
    box.focus();
    var caret = (before + glue + text).length;
    box.setSelectionRange(caret, caret);
  }

  function insertButton(label, onClick) {
    var button = el("button", "secondary copilot-insert", label);
    button.type = "button";
    button.addEventListener("click", onClick);
    return button;
  }

  function insertTemplate(handoffId, template) {
    api("GET", "/inbox/api/handoffs/" + encodeURIComponent(handoffId) + "/templates/" + encodeURIComponent(template.id))
      .then(function (data) {
        insertIntoReply(data.text);
        var missing = data.missing || [];
        $("template-missing").textContent = missing.length
          ? "Fill in before sending: " + missing.map(function (name) { return "{" + name + "}"; }).join(", ") : "";
      })
      .catch(function (error) { $("copilot-status").textContent = error.message; });
  }

  function renderCopilot(data) {
    desk.copilot = data;
    var passages = $("copilot-passages");
    var templates = $("copilot-templates");
    clear(passages);
    clear(templates);
    (data.passages || []).forEach(function (passage) {
      var item = el("li", "copilot-item copilot-passage");
      item.setAttribute("data-article", passage.id);
      item.setAttribute("data-lang", passage.lang);
      var head = el("div", "copilot-head");
      head.appendChild(link(passage.url, passage.title));
      head.appendChild(el("span", "score", (passage.lang || "").toUpperCase() + " · score " + Number(passage.score).toFixed(2)));
      item.appendChild(head);
      item.appendChild(el("p", "copilot-text", passage.snippet));
      item.appendChild(insertButton("Insert", function () {
        insertIntoReply(passage.snippet + (/^https?:\/\//i.test(passage.url || "") ? "\n" + passage.url : ""));
      }));
      passages.appendChild(item);
    });
    if (!passages.firstChild) passages.appendChild(el("li", "muted", "No article fits yet."));
    (data.templates || []).forEach(function (template) {
      var item = el("li", "copilot-item copilot-template");
      item.setAttribute("data-template", template.id);
      var head = el("div", "copilot-head");
      head.appendChild(el("strong", null, template.name));
      head.appendChild(el("span", "score", "score " + Number(template.score).toFixed(2)));
      item.appendChild(head);
      item.appendChild(el("p", "copilot-text", template.text));
      item.appendChild(insertButton("Insert", function () { insertTemplate(data.handoff_id, template); }));
      templates.appendChild(item);
    });
    if (!templates.firstChild) templates.appendChild(el("li", "muted", "No reply template fits."));
    var queries = data.queries || [];
    $("copilot-status").textContent = queries.length ? "For: “" + queries[0] + "”" : "The customer has not written yet.";
    var panel = $("copilot");
    panel.setAttribute("data-message-id", String(data.based_on_message_id || 0));
    panel.setAttribute("data-handoff-id", String(data.handoff_id));
    panel.setAttribute("data-updated-at", String(Date.now()));
  }

  /* One request at a time; a message that arrives meanwhile triggers one more afterwards. */
  function loadCopilot() {
    var handoffId = inbox().selected;
    if (!handoffId) return;
    if (desk.loading) { desk.again = true; return; }
    desk.loading = api("GET", "/inbox/api/handoffs/" + encodeURIComponent(handoffId) + "/copilot")
      .then(function (data) { if (String(inbox().selected) === String(data.handoff_id)) renderCopilot(data); })
      .catch(function (error) { $("copilot-status").textContent = error.message; })
      .then(function () {
        desk.loading = null;
        if (desk.again) { desk.again = false; loadCopilot(); }
      });
  }

  root.addEventListener("inbox:selected", function () {
    clear($("copilot-passages"));
    clear($("copilot-templates"));
    $("copilot-status").textContent = "Looking…";
    loadCopilot();
  });
  root.addEventListener("inbox:messages", function (event) {
    var data = event.detail || {};
    var fromCustomer = (data.messages || []).some(function (message) { return message.direction === "customer"; });
    if (fromCustomer && String(data.handoff_id) === String(inbox().selected)) loadCopilot();
  });

  /* --- presence, team and SLA ----------------------------------------------------------------- */

  function notified() {
    try { return JSON.parse(window.localStorage.getItem(NOTIFIED_KEY) || "[]"); } catch (error) { return []; }
  }

  function notify(breach) {
    var done = notified();
    if (done.indexOf(breach.handoff_id) >= 0) return;
    done.push(breach.handoff_id);
    try { window.localStorage.setItem(NOTIFIED_KEY, JSON.stringify(done.slice(-500))); } catch (error) { /* private mode */ }
    var minutes = Math.floor((breach.breached_at - breach.created_at) / 60);
    var text = "Handoff #" + breach.handoff_id + " has waited " + minutes + " min without an answer.";
    $("sla-alert").textContent = text;
    $("sla-alert").hidden = false;
    if ("Notification" in window && window.Notification.permission === "granted") {
      new window.Notification("Destek: a customer is waiting", { body: text, tag: "destek-sla-" + breach.handoff_id });
      desk.notifications += 1;
    }
  }

  function markQueue() {
    var breached = {};
    desk.breaches.forEach(function (breach) { breached[String(breach.handoff_id)] = true; });
    Array.prototype.forEach.call(document.querySelectorAll("#queue-list .queue-item"), function (item) {
      var late = breached[item.getAttribute("data-id")] === true;
      item.classList.toggle("sla-breached", late);
      var badge = item.querySelector(".sla-badge");
      if (late && !badge) {
        var button = item.querySelector(".queue-open");
        button.insertBefore(el("span", "sla-badge", "SLA"), button.firstChild);
      } else if (!late && badge) {
        badge.parentNode.removeChild(badge);
      }
    });
  }

  function renderAgents() {
    var list = $("desk-agents");
    var admin = $("desk-team").getAttribute("data-admin") === "true";
    clear(list);
    desk.agents.forEach(function (agent) {
      var item = el("li", "desk-agent");
      item.setAttribute("data-login", agent.login);
      item.appendChild(el("span", agent.online ? "online" : "offline muted", (agent.online ? "● " : "○ ") + agent.login));
      item.appendChild(el("span", "load", agent.load + "/" + agent.capacity));
      if (admin) {
        var input = el("input");
        input.type = "number";
        input.min = "0";
        input.max = "50";
        input.value = agent.capacity;
        input.setAttribute("aria-label", "Capacity of " + agent.login);
        var save = el("button", "secondary", "Set");
        save.type = "button";
        save.addEventListener("click", function () {
          api("PUT", "/inbox/api/agents/" + encodeURIComponent(agent.login) + "/capacity", { capacity: Number(input.value) })
            .then(heartbeat)
            .catch(function (error) { $("desk-status").textContent = error.message; });
        });
        item.appendChild(input);
        item.appendChild(save);
      }
      list.appendChild(item);
    });
  }

  function heartbeat() {
    return api("POST", "/inbox/api/presence").then(function (data) {
      desk.breaches = data.breaches || [];
      desk.agents = data.agents || [];
      desk.heartbeatSeconds = data.heartbeat_seconds || desk.heartbeatSeconds;
      $("desk-status").textContent = (data.auto_assign ? "Auto-assignment on" : "Auto-assignment off") +
        (data.sla_minutes ? " · SLA " + data.sla_minutes + " min" : "");
      renderAgents();
      markQueue();
      desk.breaches.forEach(notify);
      if (!desk.breaches.length) $("sla-alert").hidden = true;
    }).catch(function (error) { $("desk-status").textContent = error.message; });
  }

  function beat() {
    heartbeat().then(function () { window.setTimeout(beat, desk.heartbeatSeconds * 1000); });
  }

  if ("Notification" in window && window.Notification.permission === "default") {
    $("notify-enable").hidden = false;
    $("notify-enable").addEventListener("click", function () {
      window.Notification.requestPermission().then(function () { $("notify-enable").hidden = true; });
    });
  }
  root.addEventListener("inbox:queue", markQueue);
  beat();
})();
