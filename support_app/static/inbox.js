/* The agent inbox (templates/inbox.html): a live queue over Server-Sent Events, the context card
 * of the selected handoff, and claim / reply / transfer / close.
 *
 * Customer, bot and database text is only ever put into the page with textContent: no
 * innerHTML anywhere. Customer messages never become links; URLs of KB articles become links
 * only when they are http(s), with rel="noopener noreferrer". State-changing calls send the
 * page's CSRF token in X-CSRF-Token.
 */
(function () {
  "use strict";

  var root = document.getElementById("inbox");
  if (!root) return;

  var csrf = root.getAttribute("data-csrf");
  var me = root.getAttribute("data-me");
  var VARIABLE = /\{(first_name|full_name|order_id|agent_name|email)\}/g;
  var state = {
    handoffs: [], selected: null, handoff: null, lastMessageId: 0, skew: 0,
    source: null, agents: [], templates: [], connected: false
  };
  window.DestekInbox = state;

  function $(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  /* An http(s) URL as a link that opens apart from the inbox; anything else stays text. */
  function safeLink(url, text) {
    var label = text || url || "";
    if (typeof url === "string" && /^https?:\/\//i.test(url)) {
      var link = el("a", null, label);
      link.href = url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      return link;
    }
    return el("span", null, label);
  }

  function waitText(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var minutes = Math.floor(seconds / 60);
    if (minutes >= 60) return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
    return minutes ? minutes + " min " + (seconds % 60) + " s" : seconds + " s";
  }

  function serverNow() { return Date.now() / 1000 - state.skew; }

  function clock(epochSeconds) {
    if (!epochSeconds) return "";
    return new Date(epochSeconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function errorText(data, status) {
    if (data && typeof data.detail === "string") return data.detail;
    if (data && Array.isArray(data.detail)) {
      return data.detail.map(function (item) { return (item.loc || []).join(".") + ": " + item.msg; }).join("; ");
    }
    return "request failed (HTTP " + status + ")";
  }

  function api(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrf } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(errorText(data, response.status));
        return data;
      });
    });
  }

  function showError(message) { $("conv-error").textContent = message || ""; }

  /* --- queue ----------------------------------------------------------------------------- */

  function whoText(handoff) {
    return handoff.customer_name || handoff.customer_id || handoff.sender_id || ("#" + handoff.id);
  }

  function renderQueue(handoffs) {
    state.handoffs = handoffs;
    var list = $("queue-list");
    clear(list);
    handoffs.forEach(function (handoff) {
      var item = el("li", "queue-item");
      item.setAttribute("data-id", handoff.id);
      item.setAttribute("data-status", handoff.status);
      var button = el("button", "queue-open");
      button.type = "button";
      if (String(handoff.id) === String(state.selected)) button.setAttribute("aria-current", "true");
      button.appendChild(el("span", "who", whoText(handoff)));
      button.appendChild(el("span", "reason", handoff.reason_text || handoff.reason || ""));
      var facts = el("span", "facts-line");
      facts.appendChild(el("span", "channel", handoff.channel || ""));
      facts.appendChild(el("span", "language", (handoff.language || "").toUpperCase()));
      var wait = el("span", "wait", "");
      wait.setAttribute("data-since", handoff.created_at);
      facts.appendChild(wait);
      if (handoff.priority) facts.appendChild(el("span", "priority", "priority " + handoff.priority));
      button.appendChild(facts);
      button.appendChild(el("span", "status", handoff.status === "assigned" ? "with " + (handoff.agent || "?") : "waiting"));
      button.addEventListener("click", function () { select(handoff.id); });
      item.appendChild(button);
      list.appendChild(item);
    });
    $("queue-count").textContent = "(" + handoffs.length + ")";
    $("queue-empty").hidden = handoffs.length > 0;
    tick();
  }

  function tick() {
    Array.prototype.forEach.call(document.querySelectorAll(".wait[data-since]"), function (node) {
      node.textContent = "waiting " + waitText(serverNow() - Number(node.getAttribute("data-since")));
    });
  }

  /* --- the selected conversation ----------------------------------------------------------- */

  function addMessage(message) {
    if (Number(message.id) <= state.lastMessageId) return;
    state.lastMessageId = Number(message.id);
    var direction = message.direction || "system";
    var item = el("li", "msg msg-" + direction);
    item.setAttribute("data-id", message.id);
    var label = direction === "agent" ? (message.author || "agent") : direction;
    item.appendChild(el("span", "msg-meta", label + " · " + clock(message.created_at) + (message.status === "pending" ? " · sending…" : "")));
    item.appendChild(el("p", "msg-text", message.text));
    if (message.status === "failed") item.appendChild(el("p", "error", "Not delivered: " + (message.error || "unknown error")));
    $("conv-messages").appendChild(item);
    item.scrollIntoView({ block: "nearest" });
  }

  function reloadMessages() {
    var handoffId = state.selected;
    return api("GET", "/inbox/api/handoffs/" + encodeURIComponent(handoffId)).then(function (data) {
      if (state.selected !== handoffId) return;
      clear($("conv-messages"));
      state.lastMessageId = 0;
      (data.messages || []).forEach(addMessage);
    }).catch(function (error) { showError(error.message); });
  }

  function renderHandoff(handoff) {
    state.handoff = handoff;
    if (!handoff) return;
    $("conv-title").textContent = whoText(handoff) + " · " + (handoff.channel || "") + " · " + (handoff.language || "").toUpperCase();
    var status = handoff.status === "assigned" ? "assigned to " + handoff.agent : handoff.status;
    $("conv-state").textContent = "Status: " + status + (handoff.reason ? " · " + (handoff.reason_text || handoff.reason) : "");
    var mine = handoff.status === "assigned" && handoff.agent === me;
    $("claim-button").disabled = handoff.status !== "queued";
    $("close-button").disabled = !mine;
    $("transfer-button").disabled = !mine;
    $("reply-send").disabled = !mine;
    $("template-insert").disabled = !mine;
    renderTemplateChoices();
  }

  function definition(list, term, value) {
    if (value === undefined || value === null || value === "") return;
    list.appendChild(el("dt", null, term));
    list.appendChild(el("dd", null, typeof value === "object" ? JSON.stringify(value) : value));
  }

  function percent(score) {
    var number = Number(score);
    return isFinite(number) ? number.toFixed(2) : "";
  }

  function renderCard(card, handoff) {
    card = card || {};
    $("card").hidden = false;
    $("card-summary").textContent = card.summary || "";

    var facts = $("card-facts");
    clear(facts);
    definition(facts, "Reason", handoff.reason_text || [card.reason || handoff.reason, card.reason_detail].filter(Boolean).join(": "));
    definition(facts, "Language", (card.language || handoff.language || "").toUpperCase());
    definition(facts, "Channel", card.channel || handoff.channel);
    definition(facts, "Other channels", (card.channels || []).filter(function (c) { return c.sender_id !== handoff.sender_id; })
      .map(function (c) { return c.channel; }).join(", "));
    definition(facts, "Sender", handoff.sender_id);
    definition(facts, "Priority", handoff.priority);
    definition(facts, "Waiting since", clock(handoff.created_at));

    var customer = $("card-customer");
    clear(customer);
    var profile = card.customer || {};
    if (!card.customer) customer.appendChild(el("dd", "muted", "Not a known customer"));
    Object.keys(profile).forEach(function (key) { definition(customer, key.replace(/_/g, " "), profile[key]); });
    (card.recent_orders || []).forEach(function (order) {
      definition(customer, "order " + order.order_id, [order.status, order.total_kurus !== undefined ? (order.total_kurus / 100).toFixed(2) + " TL" : ""].filter(Boolean).join(" · "));
    });

    var cart = $("card-cart");
    clear(cart);
    var items = (card.cart && card.cart.items) || [];
    if (!items.length) cart.appendChild(el("p", "muted", "Empty"));
    var cartList = el("ul", "plain");
    items.forEach(function (line) { cartList.appendChild(el("li", null, (line.quantity || 1) + " × " + (line.name || line.product_id))); });
    if (items.length) {
      cart.appendChild(cartList);
      if (card.cart.total_kurus !== undefined) cart.appendChild(el("p", null, "Total: " + (card.cart.total_kurus / 100).toFixed(2) + " TL"));
    }

    var scores = (card.mood || []).map(function (point) { return percent(point.score); });
    $("card-mood").textContent = (card.mood_trend || "–") + (scores.length ? " (" + scores.join(" → ") + ")" : "");

    var articles = $("card-articles");
    clear(articles);
    (card.kb_attempts || []).forEach(function (attempt) {
      var item = el("li", "kb-attempt");
      var feedback = attempt.feedback === "up" ? " 👍" : (attempt.feedback === "down" ? " 👎" : "");
      item.appendChild(el("p", "kb-query", "“" + (attempt.query || "") + "” " + (attempt.answered ? "answered" : "not sure") + feedback));
      var candidates = el("ol", "plain");
      (attempt.candidates || []).forEach(function (candidate) {
        var line = el("li", "article" + (candidate.id === attempt.article_id ? " chosen" : ""));
        line.appendChild(safeLink(candidate.url, candidate.title || candidate.id));
        line.appendChild(el("span", "score", " score " + percent(candidate.score)));
        if (candidate.id === attempt.article_id) line.appendChild(el("span", "rating", " (shown" + feedback + ")"));
        candidates.appendChild(line);
      });
      item.appendChild(candidates);
      articles.appendChild(item);
    });
    if (!articles.firstChild) articles.appendChild(el("li", "muted", "None"));

    var turns = $("card-turns");
    var transcript = $("card-transcript");
    clear(turns);
    clear(transcript);
    var current = null;
    (card.transcript || []).forEach(function (turn) {
      if (turn.role === "customer") {
        current = el("li", "turn");
        current.appendChild(el("p", "turn-text", turn.text));
        current.appendChild(el("p", "turn-intent", "intent " + (turn.intent || "?") + " " + percent(turn.confidence)));
        var entities = (turn.entities || []).map(function (entity) { return entity.entity + "=" + entity.value; });
        if (entities.length) current.appendChild(el("p", "turn-entities", "entities: " + entities.join(", ")));
        turns.appendChild(current);
      } else if (turn.role === "action" && current) {
        var slots = turn.slots || {};
        var slotText = Object.keys(slots).filter(function (key) { return key !== "kb_candidates"; })
          .map(function (key) { return key + "=" + (slots[key] !== null && typeof slots[key] === "object" ? JSON.stringify(slots[key]) : slots[key]); });
        current.appendChild(el("p", "turn-slots", turn.name + (slotText.length ? ": " + slotText.join(", ") : "")));
      }
      if (turn.role === "action") return;
      var item = el("li", "msg msg-" + turn.role);
      item.appendChild(el("span", "msg-meta", [turn.role, turn.channel, clock(turn.time)].filter(Boolean).join(" · ")));
      item.appendChild(el("p", "msg-text", turn.text));
      transcript.appendChild(item);
    });
  }

  function select(handoffId) {
    state.selected = handoffId;
    state.lastMessageId = 0;
    showError("");
    $("template-missing").textContent = "";
    Array.prototype.forEach.call(document.querySelectorAll(".queue-open"), function (button) {
      if (button.parentNode.getAttribute("data-id") === String(handoffId)) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    });
    return api("GET", "/inbox/api/handoffs/" + encodeURIComponent(handoffId)).then(function (data) {
      if (state.selected !== handoffId) return;
      $("conversation").hidden = false;
      clear($("conv-messages"));
      renderHandoff(data.handoff);
      renderCard(data.card, data.handoff);
      (data.messages || []).forEach(addMessage);
      connect();
      root.dispatchEvent(new CustomEvent("inbox:selected", { detail: { handoffId: handoffId } }));  // agent_desk.js
    }).catch(function (error) { showError(error.message); });
  }

  /* --- actions ------------------------------------------------------------------------------ */

  function act(path, body) {
    showError("");
    return api("POST", "/inbox/api/handoffs/" + encodeURIComponent(state.selected) + "/" + path, body)
      .then(function (data) { renderHandoff(data.handoff); return data; })
      .catch(function (error) { showError(error.message); throw error; });
  }

  function renderTemplateChoices() {
    var choice = $("template-select");
    var language = state.handoff && state.handoff.language;
    var key = language + "|" + state.templates.map(function (template) { return template.id + ":" + template.name; }).join(",");
    if (key === state.templateChoicesKey) return;  // unchanged: keep the agent's selection and the nodes
    state.templateChoicesKey = key;
    var previous = choice.value;
    clear(choice);
    state.templates.slice().sort(function (a, b) {
      return (a.language === language ? 0 : 1) - (b.language === language ? 0 : 1) || String(a.name).localeCompare(String(b.name));
    }).forEach(function (template) {
      var option = el("option", null, template.name + " (" + template.language + ")");
      option.value = template.id;
      choice.appendChild(option);
    });
    if (previous) choice.value = previous;
  }

  function insertTemplate() {
    var templateId = $("template-select").value;
    if (!templateId || !state.selected) return;
    api("GET", "/inbox/api/handoffs/" + encodeURIComponent(state.selected) + "/templates/" + encodeURIComponent(templateId))
      .then(function (data) {
        var box = $("reply-text");
        var start = box.selectionStart || 0, end = box.selectionEnd || 0;
        box.value = box.value.slice(0, start) + data.text + box.value.slice(end);
        box.focus();
        var missing = data.missing || [];
        $("template-missing").textContent = missing.length
          ? "Fill in before sending: " + missing.map(function (name) { return "{" + name + "}"; }).join(", ") : "";
      })
      .catch(function (error) { showError(error.message); });
  }

  function sendReply(event) {
    event.preventDefault();
    var box = $("reply-text");
    var text = box.value.trim();
    if (!text) return;
    var unfilled = text.match(VARIABLE);
    if (unfilled) {
      showError("Fill in " + unfilled.join(", ") + " before sending.");
      return;
    }
    $("reply-send").disabled = true;
    act("reply", { text: text }).then(function () {
      box.value = "";
      $("template-missing").textContent = "";
    }).catch(function () { /* shown by act */ }).then(function () {
      renderHandoff(state.handoff);
      reloadMessages();  // the live feed showed the reply while pending; now it is sent or failed
    });
  }

  function renderAgents(agents) {
    state.agents = agents || [];
    var choice = $("transfer-to");
    var previous = choice.value;
    clear(choice);
    state.agents.filter(function (name) { return name !== me; }).forEach(function (name) {
      var option = el("option", null, name);
      option.value = name;
      choice.appendChild(option);
    });
    if (previous) choice.value = previous;
  }

  /* --- the live feed ------------------------------------------------------------------------ */

  function connect() {
    if (state.source) state.source.close();
    var url = "/inbox/api/stream";
    if (state.selected) url += "?handoff=" + encodeURIComponent(state.selected) + "&after=" + state.lastMessageId;
    var source = new EventSource(url);
    state.source = source;
    source.addEventListener("queue", function (event) {
      var data = JSON.parse(event.data);
      state.skew = Date.now() / 1000 - data.now;
      renderQueue(data.handoffs);
      root.dispatchEvent(new CustomEvent("inbox:queue"));  // agent_desk.js
    });
    source.addEventListener("handoff", function (event) {
      var data = JSON.parse(event.data);
      if (data.handoff && String(data.handoff.id) === String(state.selected)) renderHandoff(data.handoff);
    });
    source.addEventListener("messages", function (event) {
      var data = JSON.parse(event.data);
      if (String(data.handoff_id) === String(state.selected)) data.messages.forEach(addMessage);
      root.dispatchEvent(new CustomEvent("inbox:messages", { detail: data }));  // agent_desk.js
    });
    source.onopen = function () {
      state.connected = true;
      $("feed-status").textContent = "Live";
    };
    source.onerror = function () {
      state.connected = false;
      $("feed-status").textContent = "Reconnecting…";
    };
  }

  $("claim-button").addEventListener("click", function () { act("claim").catch(function () {}); });
  $("close-button").addEventListener("click", function () { act("close").catch(function () {}); });
  $("transfer-button").addEventListener("click", function () {
    var target = $("transfer-to").value;
    if (target) act("transfer", { to_agent: target }).catch(function () {});
  });
  $("template-insert").addEventListener("click", insertTemplate);
  $("reply-form").addEventListener("submit", sendReply);

  api("GET", "/inbox/api/queue").then(function (data) { renderAgents(data.agents); }).catch(function (error) { showError(error.message); });
  api("GET", "/inbox/api/templates").then(function (data) {
    state.templates = data.templates || [];
    renderTemplateChoices();
  }).catch(function (error) { showError(error.message); });
  setInterval(tick, 1000);
  connect();
})();
