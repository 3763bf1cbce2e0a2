/* coinvoice payer page: live status (server-sent events, polling fallback), copy buttons, countdown, redirect. */
(function () {
  "use strict";
  var main = document.getElementById("invoice");
  var box = document.getElementById("state");
  if (!main || !box) return;
  var base = "/" + main.getAttribute("data-id");
  var FINAL = { done: 1, expired: 1, refunded: 1, failed: 1 };
  var MESSAGES = {
    pending: "Waiting for your payment.", processing: "Payment seen, waiting for confirmations.",
    wrong: "Payment incomplete: part of the amount is still missing.", done: "Payment received.",
    expired: "This invoice has expired.", refunded: "Payment rejected.", failed: "This invoice cannot be paid."
  };
  var ticker = null, stream = null, pollTimer = null;

  function root() { return box.querySelector("[data-status]"); }
  function status() { var r = root(); return r ? r.getAttribute("data-status") : ""; }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var el = document.getElementById("countdown");
    if (!el) return;
    var left = Math.max(0, Math.floor((Date.parse(el.getAttribute("data-expires")) - Date.now()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
    el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s);
  }

  function redirectLater(url) {
    var left = 5, el = document.getElementById("redirect-in");
    var timer = setInterval(function () {
      left -= 1;
      if (el) el.textContent = String(left);
      if (left <= 0) { clearInterval(timer); window.location.assign(url); }
    }, 1000);
  }

  function enhance() {
    var buttons = box.querySelectorAll("button.copy");
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;
    clearInterval(ticker);
    if (document.getElementById("countdown")) { tick(); ticker = setInterval(tick, 1000); }
    var r = root(), url = r && r.getAttribute("data-redirect");
    if (url) redirectLater(url);
  }

  function stop() {
    if (stream) { stream.close(); stream = null; }
    clearTimeout(pollTimer);
  }

  function apply(msg) {
    var r = root();
    if (r && msg.version === r.getAttribute("data-version")) return;
    var focused = document.activeElement && box.contains(document.activeElement);
    box.innerHTML = msg.html;
    document.getElementById("announce").textContent = MESSAGES[msg.status] || "";
    enhance();
    if (focused) { var h = box.querySelector("h2"); if (h) { h.tabIndex = -1; h.focus(); } }
    if (FINAL[msg.status]) stop();
  }

  function poll() {
    pollTimer = setTimeout(function () {
      fetch(base + "/status", { headers: { Accept: "application/json" }, cache: "no-store" })
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
    stream = new EventSource(base + "/events?v=" + encodeURIComponent(r ? r.getAttribute("data-version") : ""));
    stream.addEventListener("state", function (e) { apply(JSON.parse(e.data)); });
    stream.onerror = function () {
      // the browser retries by itself; once it gives up, fall back to polling
      if (stream && stream.readyState === EventSource.CLOSED) { stream = null; poll(); }
    };
  }

  function copyText(button) {
    var text = button.getAttribute("data-copy");
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      document.getElementById("announce").textContent = "Copied to the clipboard.";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    }
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    var button = t && t.closest ? t.closest("button.copy") : null;
    if (button) copyText(button);
  });

  enhance();
  listen();
})();
