/*
 * Destek chat widget. Embed with one script tag and a config object:
 *
 *   <script type="application/json" id="destek-config">
 *     {"serverUrl": "http://localhost:5005", "tokenUrl": "/api/webchat/token", "language": "tr", "brand": "Acme"}
 *   </script>
 *   <script src="/static/destek-widget.js" defer></script>
 *
 * (or set window.DestekConfig before the script runs). The token URL returns
 * {"token", "sub", "expires_at", "language"}; the Rasa web chat channel derives the
 * conversation from the token alone. Message text is always put into the page as text
 * nodes; only http(s) links become <a> elements. "brand" (optional) goes before the title:
 * "Acme Destek" / "Acme Support".
 */
(function () {
  "use strict";

  var STRINGS = {
    tr: {
      open: "Destek ile sohbet et", close: "Sohbeti kapat", title: "Destek",
      input: "Mesajınız", send: "Gönder", placeholder: "Sorunuzu yazın…",
      typing: "Destek yazıyor…", slow_down: "Çok hızlı yazıyorsunuz; birkaç saniye bekleyin.", connecting: "Bağlanıyor…", offline: "Bağlantı koptu, yeniden bağlanılıyor…",
      failed: "Sohbete bağlanılamadı. Sayfayı yenileyip tekrar deneyin.",
      you: "Siz", bot: "Destek", log: "Sohbet geçmişi", replies: "Hızlı yanıtlar",
      welcome: "Merhaba! Size nasıl yardımcı olabilirim?",
      helpful: "Evet, yanıt işime yaradı", notHelpful: "Hayır, yanıt işime yaramadı"
    },
    en: {
      open: "Chat with support", close: "Close chat", title: "Support",
      input: "Your message", send: "Send", placeholder: "Type your question…",
      typing: "Support is typing…", slow_down: "You are writing very fast; wait a few seconds.", connecting: "Connecting…", offline: "Connection lost, reconnecting…",
      failed: "Could not connect to the chat. Reload the page and try again.",
      you: "You", bot: "Support", log: "Conversation", replies: "Quick replies",
      welcome: "Hello! How can I help you?",
      helpful: "Yes, this answer helped", notHelpful: "No, this answer did not help"
    }
  };
  var MAX_STORED = 200;
  var STORAGE_PREFIX = "destek:transcript:";
  var TYPING_TIMEOUT_MS = 30000;
  var REFRESH_MARGIN_S = 60;
  var URL_PATTERN = /(https?:\/\/[^\s<>"']+)/g;
  /* Screen-reader labels for buttons whose title is only an emoji. */
  var PAYLOAD_LABELS = { "/answer_helpful": "helpful", "/answer_not_helpful": "notHelpful" };
  var NUDGE_PREFIX = "destek:checkout-nudged:";
  var ACTIVITY_EVENTS = ["mousemove", "mousedown", "keydown", "scroll", "touchstart", "input"];

  var script = document.currentScript;

  function readConfig() {
    if (window.DestekConfig && typeof window.DestekConfig === "object") return window.DestekConfig;
    var block = document.getElementById("destek-config");
    if (block) {
      try { return JSON.parse(block.textContent || "{}"); } catch (e) { console.error("destek: bad config JSON", e); }
    }
    return {};
  }

  function assetUrl(name) {
    var base = script && script.src ? script.src : location.href;
    return new URL(name, base).href;
  }

  function pickLanguage(configured, fromToken) {
    var candidates = [configured, fromToken, document.documentElement.lang, navigator.language];
    for (var i = 0; i < candidates.length; i++) {
      var code = String(candidates[i] || "").slice(0, 2).toLowerCase();
      if (STRINGS[code]) return code;
    }
    return "tr";
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Text with http(s) links as anchors; everything else stays a text node. */
  function richText(text) {
    var fragment = document.createDocumentFragment();
    String(text).split(URL_PATTERN).forEach(function (part, index) {
      if (index % 2 === 0) { if (part) fragment.appendChild(document.createTextNode(part)); return; }
      var trailing = (part.match(/[.,;:!?)\]]+$/) || [""])[0];
      var href = trailing ? part.slice(0, -trailing.length) : part;
      var url = null;
      try { url = new URL(href); } catch (e) { url = null; }
      if (url && (url.protocol === "http:" || url.protocol === "https:")) {
        fragment.appendChild(el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer" }, href));
        if (trailing) fragment.appendChild(document.createTextNode(trailing));
      } else {
        fragment.appendChild(document.createTextNode(part));
      }
    });
    return fragment;
  }

  function loadSocketIo() {
    if (window.io) return Promise.resolve(window.io);
    return new Promise(function (resolve, reject) {
      var tag = el("script", { src: assetUrl("vendor/socket.io.min.js") });
      tag.onload = function () { resolve(window.io); };
      tag.onerror = function () { reject(new Error("could not load socket.io client")); };
      document.head.appendChild(tag);
    });
  }

  function Widget(config) {
    this.config = config;
    this.tokenInfo = null;
    this.transcript = [];
    this.socket = null;
    this.typingTimer = null;
    this.refreshTimer = null;
    this.lang = pickLanguage(config.language, null);
  }

  Widget.prototype.t = function (key) { return STRINGS[this.lang][key]; };
  /* The company's name (config "brand", e.g. DESTEK_BRAND_NAME) before the title; always a text node. */
  Widget.prototype.title = function () {
    var brand = typeof this.config.brand === "string" ? this.config.brand.trim() : "";
    return brand ? brand + " " + this.t("title") : this.t("title");
  };

  Widget.prototype.fetchToken = function () {
    var self = this;
    return fetch(this.config.tokenUrl || "/api/webchat/token", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("token endpoint answered " + response.status);
        return response.json();
      })
      .then(function (info) {
        self.tokenInfo = info;
        self.scheduleRefresh();
        return info;
      });
  };

  /* Refresh the token shortly before it expires, and tell the open connection about it. */
  Widget.prototype.scheduleRefresh = function () {
    var self = this;
    clearTimeout(this.refreshTimer);
    var delay = Math.max(5, this.tokenInfo.expires_at - Date.now() / 1000 - REFRESH_MARGIN_S) * 1000;
    this.refreshTimer = setTimeout(function () {
      self.fetchToken().then(function (info) {
        if (self.socket && self.socket.connected) self.socket.emit("refresh_token", { token: info.token });
      }).catch(function (error) { console.warn("destek: token refresh failed", error); });
    }, delay);
  };

  Widget.prototype.storageKey = function () { return STORAGE_PREFIX + this.tokenInfo.sub; };

  /* Keep only the current subject's transcript: after a logout nobody sees the previous customer's chat. */
  Widget.prototype.loadTranscript = function () {
    var key = this.storageKey();
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var name = localStorage.key(i);
        if (name && name.indexOf(STORAGE_PREFIX) === 0 && name !== key) localStorage.removeItem(name);
      }
      var stored = JSON.parse(localStorage.getItem(key) || "[]");
      this.transcript = Array.isArray(stored) ? stored : [];
    } catch (e) {
      this.transcript = [];
    }
  };

  Widget.prototype.saveTranscript = function () {
    try {
      localStorage.setItem(this.storageKey(), JSON.stringify(this.transcript.slice(-MAX_STORED)));
    } catch (e) { /* storage full or disabled: the conversation still lives on the server */ }
  };

  Widget.prototype.build = function () {
    var self = this;
    var root = el("div", { "class": "destek-widget", lang: this.lang });
    this.launcher = el("button", {
      type: "button", "class": "destek-launcher", "aria-expanded": "false",
      "aria-controls": "destek-panel", "aria-label": this.t("open")
    }, "💬");
    this.panel = el("section", { id: "destek-panel", "class": "destek-panel", role: "dialog", "aria-label": this.title(), hidden: "" });
    var header = el("header", { "class": "destek-header" });
    header.appendChild(el("h2", { "class": "destek-title" }, this.title()));
    this.closeButton = el("button", { type: "button", "class": "destek-close", "aria-label": this.t("close") }, "×");
    header.appendChild(this.closeButton);
    this.log = el("ol", { "class": "destek-log", role: "log", "aria-live": "polite", "aria-label": this.t("log"), tabindex: "0" });
    this.typing = el("p", { "class": "destek-typing", role: "status", hidden: "" }, this.t("typing"));
    this.status = el("p", { "class": "destek-status", role: "status" });
    this.form = el("form", { "class": "destek-form" });
    var label = el("label", { "for": "destek-input", "class": "destek-sr-only" }, this.t("input"));
    this.input = el("input", { id: "destek-input", type: "text", autocomplete: "off", maxlength: "2000", placeholder: this.t("placeholder") });
    this.sendButton = el("button", { type: "submit", "class": "destek-send" }, this.t("send"));
    this.form.appendChild(label);
    this.form.appendChild(this.input);
    this.form.appendChild(this.sendButton);
    [header, this.log, this.typing, this.status, this.form].forEach(function (part) { self.panel.appendChild(part); });
    root.appendChild(this.panel);
    root.appendChild(this.launcher);
    document.body.appendChild(root);

    this.launcher.addEventListener("click", function () { self.launcher.classList.remove("destek-unread"); self.toggle(self.panel.hidden); });
    this.closeButton.addEventListener("click", function () { self.toggle(false); });
    this.panel.addEventListener("keydown", function (event) { if (event.key === "Escape") self.toggle(false); });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value.trim();
      if (!text) return;
      self.input.value = "";
      self.send(text, text);
    });
  };

  Widget.prototype.toggle = function (open) {
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", String(open));
    if (open) { this.input.focus(); this.log.scrollTop = this.log.scrollHeight; } else { this.launcher.focus(); }
  };

  Widget.prototype.render = function (entry, index) {
    var self = this;
    var item = el("li", { "class": "destek-msg destek-" + entry.from });
    item.appendChild(el("span", { "class": "destek-sr-only" }, (entry.from === "user" ? this.t("you") : this.t("bot")) + ": "));
    var bubble = el("p", { "class": "destek-text" });
    bubble.appendChild(richText(entry.text || ""));
    item.appendChild(bubble);
    if (entry.buttons && entry.buttons.length && !entry.answered) {
      var group = el("div", { "class": "destek-replies", role: "group", "aria-label": this.t("replies") });
      entry.buttons.forEach(function (button) {
        var title = String(button.title || button.payload || "");
        var payload = String(button.payload || "");
        var control = el("button", { type: "button", "class": "destek-reply", "data-payload": payload }, title);
        if (!/\p{L}/u.test(title)) control.setAttribute("aria-label", PAYLOAD_LABELS[payload] ? self.t(PAYLOAD_LABELS[payload]) : title);
        control.addEventListener("click", function () {
          entry.answered = true;
          group.remove();
          self.saveTranscript();
          self.send(payload || title, title);
        });
        group.appendChild(control);
      });
      item.appendChild(group);
    }
    item.dataset.index = String(index);
    this.log.appendChild(item);
    this.log.scrollTop = this.log.scrollHeight;
  };

  Widget.prototype.add = function (entry) {
    this.transcript.push(entry);
    this.saveTranscript();
    this.render(entry, this.transcript.length - 1);
  };

  Widget.prototype.setTyping = function (on) {
    var self = this;
    clearTimeout(this.typingTimer);
    this.typing.hidden = !on;
    if (on) this.typingTimer = setTimeout(function () { self.typing.hidden = true; }, TYPING_TIMEOUT_MS);
  };

  Widget.prototype.send = function (message, shown) {
    if (!this.socket) { this.status.textContent = this.t("failed"); return; }
    this.add({ from: "user", text: shown, ts: Date.now() });
    this.setTyping(true);
    // socket.io buffers the emit while disconnected and sends it after reconnecting.
    this.socket.emit("user_uttered", { message: message, metadata: { page: location.pathname } });
  };

  /* A signal for the bot (an /EXTERNAL_… intent): sent on the socket, never shown in the transcript. */
  Widget.prototype.signal = function (intent, entities) {
    if (!this.socket) return;
    this.socket.emit("user_uttered", { message: "/" + intent + JSON.stringify(entities), metadata: { page: location.pathname } });
  };

  /* Show the panel without taking the focus; if the shopper is typing in a page form, only mark the launcher. */
  Widget.prototype.reveal = function () {
    if (!this.panel.hidden) return;
    var active = document.activeElement;
    var typing = active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && !this.panel.contains(active);
    if (typing) { this.launcher.classList.add("destek-unread"); return; }
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.log.scrollTop = this.log.scrollHeight;
  };

  /*
   * Checkout help: when the page carries data-destek-checkout (a non-empty cart), the first of
   * "idle for checkoutIdleSeconds" or "pointer leaves through the top" sends one
   * /EXTERNAL_checkout_stalled signal per browser session; leaving the page (pagehide) with the
   * cart sends a beacon so the shop can schedule a reminder. No sound, no focus stealing.
   */
  Widget.prototype.watchCheckout = function () {
    var self = this;
    var holder = document.querySelector("[data-destek-checkout]");
    if (!holder) return;
    var checkout;
    try { checkout = JSON.parse(holder.getAttribute("data-destek-checkout") || "{}"); } catch (e) { return; }
    if (!checkout.itemCount) return;
    var key = NUDGE_PREFIX + this.tokenInfo.sub;
    var idleMs = Math.max(1, Number(this.config.checkoutIdleSeconds) || 30) * 1000;
    var timer = null;
    var ordering = false;
    function nudged() { try { return sessionStorage.getItem(key) === "1"; } catch (e) { return self.nudgedHere; } }
    function stop() {
      clearTimeout(timer);
      ACTIVITY_EVENTS.forEach(function (name) { document.removeEventListener(name, restart, true); });
      document.removeEventListener("mouseout", onMouseOut);
    }
    function fire(kind) {
      stop();
      if (nudged() || ordering) return;
      self.nudgedHere = true;
      try { sessionStorage.setItem(key, "1"); } catch (e) { /* the bot also makes the offer only once */ }
      self.expectingNudge = true;
      self.signal("EXTERNAL_checkout_stalled", { checkout_signal: kind, language: self.lang });
    }
    function restart() { clearTimeout(timer); timer = setTimeout(function () { fire("idle"); }, idleMs); }
    function onMouseOut(event) { if (!event.relatedTarget && event.clientY <= 0) fire("exit"); }
    if (!nudged()) {
      ACTIVITY_EVENTS.forEach(function (name) { document.addEventListener(name, restart, { capture: true, passive: true }); });
      document.addEventListener("mouseout", onMouseOut);
      restart();
    }
    var orderForm = document.getElementById("place-order");
    if (orderForm) orderForm.addEventListener("submit", function () { ordering = true; stop(); });
    window.addEventListener("pagehide", function () {
      if (ordering || !checkout.leaveUrl || !navigator.sendBeacon) return;
      var form = new FormData();
      form.append("csrf", checkout.csrf || "");
      navigator.sendBeacon(checkout.leaveUrl, form);
    });
  };

  Widget.prototype.onBotMessage = function (data) {
    if (!data || typeof data !== "object") return;
    var text = typeof data.text === "string" ? data.text : "";
    var attachment = data.attachment && data.attachment.payload;
    if (!text && attachment && typeof attachment.src === "string") text = attachment.src;
    var buttons = Array.isArray(data.quick_replies) ? data.quick_replies : (Array.isArray(data.buttons) ? data.buttons : []);
    if (!text && !buttons.length) return;
    // Older quick replies can no longer be used once the bot has moved on.
    this.transcript.forEach(function (entry) { if (entry.buttons) entry.answered = true; });
    Array.prototype.forEach.call(this.log.querySelectorAll(".destek-replies"), function (group) { group.remove(); });
    this.add({ from: "bot", text: text, buttons: buttons.map(function (b) { return { title: b.title, payload: b.payload }; }), ts: Date.now() });
    if (this.expectingNudge) { this.expectingNudge = false; this.reveal(); }
  };

  Widget.prototype.connect = function (io) {
    var self = this;
    var socket = io(this.config.serverUrl, {
      path: this.config.socketPath || "/socket.io",
      transports: ["websocket"],
      // Called on every (re)connection: a fresh token each time, so an expired one never blocks reconnecting.
      auth: function (callback) {
        self.fetchToken().then(function (info) { callback({ token: info.token }); })
          .catch(function () { callback({ token: "" }); });
      }
    });
    this.socket = socket;
    var refusals = 0;
    socket.on("connect", function () {
      refusals = 0;
      self.status.textContent = "";
      socket.emit("session_request", {});
    });
    socket.on("disconnect", function (reason) {
      self.status.textContent = self.t("offline");
      if (reason === "io server disconnect") socket.connect();  // e.g. the token expired: reconnect with a new one
    });
    socket.on("connect_error", function () {
      self.status.textContent = self.t("offline");
      if (!socket.active) {  // the server refused the token: retry a few times with a fresh one
        refusals += 1;
        if (refusals > 5) { self.status.textContent = self.t("failed"); return; }
        setTimeout(function () { socket.connect(); }, 1000 * refusals);
      }
    });
    socket.on("session_confirm", function (data) { self.sessionId = data && data.session_id; });
    socket.on("bot_uttered", function (data) { self.onBotMessage(data); });
    socket.on("bot_typing", function (data) { self.setTyping(Boolean(data && data.typing)); });
    socket.on("chat_error", function (data) {
      console.warn("destek:", data && data.error);
      if (data && data.code === "rate_limited") self.status.textContent = self.t("slow_down");
    });
  };

  Widget.prototype.start = function () {
    var self = this;
    var stylesheet = el("link", { rel: "stylesheet", href: assetUrl("destek-widget.css") });
    document.head.appendChild(stylesheet);
    return this.fetchToken()
      .then(function (info) {
        self.lang = pickLanguage(self.config.language, info.language);
        self.loadTranscript();
        self.build();
        if (!self.transcript.length) self.add({ from: "bot", text: self.t("welcome"), ts: Date.now() });
        else self.transcript.forEach(function (entry, index) { self.render(entry, index); });
        self.status.textContent = self.t("connecting");
        return loadSocketIo();
      })
      .then(function (io) { self.connect(io); self.watchCheckout(); })
      .catch(function (error) {
        console.error("destek:", error);
        if (self.status) self.status.textContent = self.t("failed");
      });
  };

  function boot() {
    var widget = new Widget(readConfig());
    window.DestekWidget = widget;
    widget.start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
