// coinvoice dashboard: progressive enhancement only. Every page works without this file.
// - the invoice list: status badges follow the invoices live (one small JSON poll for the whole page)
// - an invoice: its live part (status, deposits, timeline, webhook deliveries) refreshes until nothing can change
(function () {
  "use strict";
  var POLL_MS = 2000;
  var announce = function (text) {
    var el = document.getElementById("announce");
    if (el) el.textContent = text;
  };
  var FINAL = { done: 1, refunded: 1, failed: 1, expired: 1, draft: 1, voided: 1, uncollectible: 1 };

  function pollBadges() {
    var badges = Array.prototype.slice.call(document.querySelectorAll("[data-live-list] [data-invoice]"));
    var open = badges.filter(function (b) { return !FINAL[b.getAttribute("data-status")]; });
    if (!open.length) return;
    var ids = open.map(function (b) { return b.getAttribute("data-invoice"); });
    fetch("/dashboard/invoices/statuses?ids=" + encodeURIComponent(ids.join(",")), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        open.forEach(function (badge) {
          var now = data[badge.getAttribute("data-invoice")];
          if (!now || now.status === badge.getAttribute("data-status")) return;
          badge.setAttribute("data-status", now.status);
          badge.className = "badge s-" + now.status;
          fetchLabel(badge, now.status);
        });
      })
      .catch(function () {})
      .then(function () { setTimeout(pollBadges, POLL_MS); });
  }

  var LABELS = {
    created: "Created", pending: "Waiting for payment", processing: "Processing", done: "Paid",
    wrong: "Incomplete", refunded: "Rejected", failed: "Failed", expired: "Expired"
  };
  function fetchLabel(badge, status) {
    badge.textContent = LABELS[status] || status;
    announce("Invoice " + badge.getAttribute("data-invoice").slice(0, 8) + ": " + badge.textContent);
  }

  function refreshLive() {
    var live = document.getElementById("live");
    if (!live || !live.hasAttribute("data-live")) return;
    var wait = parseInt(live.getAttribute("data-live"), 10) || 3000;
    setTimeout(function () {
      fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
          if (!fresh) return;
          var active = document.activeElement;
          if (active && live.contains(active) && active.tagName !== "BODY") { refreshLive(); return; }
          var before = live.querySelector("[data-invoice]");
          var after = fresh.querySelector("[data-invoice]");
          if (fresh.innerHTML !== live.innerHTML) {
            live.innerHTML = fresh.innerHTML;
            if (before && after && before.getAttribute("data-status") !== after.getAttribute("data-status")) {
              announce("Status: " + after.textContent);
            }
          }
          if (fresh.hasAttribute("data-live")) {
            refreshLive();
          } else {
            live.removeAttribute("data-live");
          }
        })
        .catch(function () { refreshLive(); });
    }, wait);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-live-list]")) setTimeout(pollBadges, POLL_MS);
    refreshLive();
  });
})();
