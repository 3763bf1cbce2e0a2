/* coinvoice payer page: live status (server-sent events, polling fallback), copy buttons, countdown, redirect. */
(function () {
  "use strict";
  var main = document.getElementById("invoice");
  var box = document.getElementById("state");
  if (!main || !box) return;
  var base = "/" + main.getAttribute("data-id");
  var lang = "lang=" + encodeURIComponent(main.getAttribute("data-lang") || "en");
  var FINAL = { done: 1, expired: 1, refunded: 1, failed: 1 };
  var texts = document.getElementById("texts");
  function t(key) { return (texts && texts.getAttribute("data-" + key)) || ""; }
  var WARNINGS = [[60, t("warn-1")], [300, t("warn-5")]];
  var ticker = null, stream = null, pollTimer = null, redirectTimer = null;
  var skew = 0; // server clock minus browser clock, in ms
  var warned = {};

  function root() { return box.querySelector("[data-status]"); }
  function status() { var r = root(); return r ? r.getAttribute("data-status") : ""; }
  function announce(text) { document.getElementById("announce").textContent = text; }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function withdraw() {
    // 0:00 by the server's clock: nothing may be sent to this address any more
    var pay = document.getElementById("payment");
    if (pay) {
      var note = document.createElement("div");
      note.className = "notice bad";
      note.id = "time-up";
      var h = document.createElement("h2"), p = document.createElement("p");
      h.textContent = t("time-up");
      p.textContent = t("time-up-note");
      note.appendChild(h);
      note.appendChild(p);
      pay.parentNode.replaceChild(note, pay);
      announce(t("time-up") + ". " + t("time-up-note"));
    }
    refresh();
  }
  function tick() {
    var el = document.getElementById("countdown");
    if (!el) { clearInterval(ticker); return; }
    var ms = Date.parse(el.getAttribute("data-expires")) - (Date.now() + skew);
    var left = Math.max(0, Math.ceil(ms / 1000));
    var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
    el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s);
    var bar = document.getElementById("expiry-bar");
    if (bar) bar.value = left;
    for (var i = 0; i < WARNINGS.length; i++) {
      var key = el.getAttribute("data-expires") + WARNINGS[i][0];
      if (left > 0 && left <= WARNINGS[i][0] && !warned[key]) {
        warned[key] = 1;
        for (var j = i + 1; j < WARNINGS.length; j++) warned[el.getAttribute("data-expires") + WARNINGS[j][0]] = 1;
        el.parentNode.parentNode.className = "expiry soon";
        announce(WARNINGS[i][1]);
        break;
      }
    }
    if (ms <= 0) { clearInterval(ticker); withdraw(); }
  }

  function redirectLater(url) {
    var note = document.getElementById("redirect-note");
    if (!note) return;
    note.hidden = false;
    var left = 5, el = document.getElementById("redirect-in");
    redirectTimer = setInterval(function () {
      left -= 1;
      if (el) el.textContent = String(left);
      if (left <= 0) { clearInterval(redirectTimer); window.location.assign(url); }
    }, 1000);
    document.getElementById("stay").addEventListener("click", function () {
      clearInterval(redirectTimer);
      note.textContent = t("stayed");
      announce(t("stay-announce"));
    });
  }

  function enhance() {
    var buttons = main.querySelectorAll("button.copy, #print");
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;
    var r = root(), now = r && Date.parse(r.getAttribute("data-now") || "");
    if (now) skew = now - Date.now();
    clearInterval(ticker);
    if (document.getElementById("countdown")) { tick(); ticker = setInterval(tick, 250); }
  }

  function stop() {
    if (stream) { stream.close(); stream = null; }
    clearTimeout(pollTimer);
  }

  function apply(msg) {
    var r = root();
    if (r && msg.version === r.getAttribute("data-version")) return;
    var before = status();
    var focused = document.activeElement && box.contains(document.activeElement);
    box.innerHTML = msg.html;
    announce(t(msg.status));
    enhance();
    if (focused) { var h = box.querySelector("h2"); if (h) { h.tabIndex = -1; h.focus(); } }
    // redirect only when the payment completes while the payer watches, never on a later visit
    var nr = root(), url = nr && nr.getAttribute("data-redirect");
    if (url && before !== "done" && msg.status === "done") redirectLater(url);
    if (FINAL[msg.status]) stop();
  }

  function refresh() {
    fetch(base + "/status?" + lang, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (msg) { if (msg) apply(msg); })
      .catch(function () {});
  }

  function poll() {
    pollTimer = setTimeout(function () {
      fetch(base + "/status?" + lang, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (msg) { if (msg) apply(msg); })
        .catch(function () {})
        .then(function () { if (!FINAL[status()]) poll(); });
    }, 3000);
  }

  function listen() {
    if (status() === "created" || FINAL[status()]) return;
    if (!window.EventSource) { poll(); return; }
    var r = root();
    stream = new EventSource(base + "/events?" + lang + "&v=" + encodeURIComponent(r ? r.getAttribute("data-version") : ""));
    stream.addEventListener("state", function (e) { apply(JSON.parse(e.data)); });
    stream.onerror = function () {
      // the browser retries by itself; once it gives up, fall back to polling
      if (stream && stream.readyState === EventSource.CLOSED) { stream = null; poll(); }
    };
  }

  function say(button, text) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = text;
    announce(text);
    setTimeout(function () { button.textContent = label; }, 4000);
  }

  function selectNear(button) {
    // without a clipboard (plain http): select the text so the payer can copy it by hand
    var target = button.previousElementSibling;
    var text = button.getAttribute("data-copy");
    if (!target || target.textContent.replace(/\s/g, "") !== text.replace(/\s/g, "")) {
      target = document.getElementById("copy-area");
      if (!target) {
        target = document.createElement("textarea");
        target.id = "copy-area";
        target.className = "copy-area";
        target.readOnly = true;
        target.setAttribute("aria-label", "Text to copy");
        button.parentNode.insertBefore(target, button.nextSibling);
      }
      target.value = text;
      target.focus();
      target.select();
    } else {
      var range = document.createRange();
      range.selectNodeContents(target);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    say(button, copied ? t("copied") : t("selected"));
  }

  function copyText(button) {
    var text = button.getAttribute("data-copy");
    var both = button.hasAttribute("data-done");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { say(button, both ? button.getAttribute("data-done") : t("copied")); },
        function () { selectNear(button); });
    } else {
      selectNear(button);
    }
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    var button = t && t.closest ? t.closest("button.copy") : null;
    if (button) copyText(button);
    if (t && t.id === "print") window.print();
  });

  enhance();
  listen();
})();
