// jitgate dashboard: live pending list over a WebSocket, and countdowns. No build step.
(function () {
  "use strict";

  var body = document.body;
  var statusBadge = document.getElementById("live-status");

  function setStatus(state, text) {
    if (!statusBadge) return;
    statusBadge.dataset.state = state;
    statusBadge.textContent = text;
  }

  function formatLeft(ms) {
    var s = Math.floor(ms / 1000);
    if (s <= 0) return "expired";
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (h) return h + "h " + m + "m left";
    if (m) return m + "m " + (r < 10 ? "0" : "") + r + "s left";
    return r + "s left";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var at = Date.parse(el.dataset.deadline);
      if (!isNaN(at)) el.textContent = formatLeft(at - now);
    });
  }

  // Fetch the server-rendered list and swap it in; a lost session sends the user to sign in.
  var refreshing = null, again = false;
  function refreshPending() {
    if (refreshing) { again = true; return; }
    refreshing = fetch("/dashboard/fragments/pending", { credentials: "same-origin", cache: "no-store" })
      .then(function (resp) {
        if (resp.redirected || resp.status === 401) { window.location.assign("/dashboard/login"); return null; }
        return resp.ok ? resp.text() : null;
      })
      .then(function (html) {
        var list = document.getElementById("pending-list");
        if (html !== null && html !== undefined && list) { list.innerHTML = html; tick(); }
      })
      .catch(function () { /* the next event or reconnect tries again */ })
      .then(function () {
        refreshing = null;
        if (again) { again = false; refreshPending(); }
      });
  }

  var OUTCOME = {
    approved: "was approved", denied: "was denied", expired: "expired",
    cancelled: "was cancelled by the agent", consumed: "was approved and its token used",
    revoked: "had its token revoked", token_expired: "was approved and its token expired"
  };

  // Decided elsewhere, expired or withdrawn: say so, and make sure nobody clicks a dead button.
  function requestChanged(status) {
    var notice = document.getElementById("changed");
    var text = document.getElementById("changed-text");
    if (notice) notice.hidden = false;
    if (!status || status === "pending") return;
    if (text) text.textContent = "This request " + (OUTCOME[status] || "is now " + status) + " meanwhile: it can no longer be decided here.";
    document.querySelectorAll(".decide button, .decide textarea").forEach(function (el) { el.disabled = true; });
    var panel = document.querySelector(".decide");
    if (panel) panel.setAttribute("aria-disabled", "true");
  }

  function onEvent(event) {
    if (event.type === "ping") return;
    if (body.dataset.live === "pending") refreshPending();
    var here = body.dataset.requestId;
    if (here && event.request_id === here) requestChanged(event.status);
  }

  var delay = 1000;
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/dashboard/ws");
    socket.onopen = function () {
      delay = 1000;
      window.__jitgateLive = true;  // lets a browser test wait for the socket, not for a clock
      setStatus("live", "Live");
      // Anything that happened while we were away is fetched once.
      if (body.dataset.live === "pending") refreshPending();
    };
    socket.onmessage = function (msg) {
      try { onEvent(JSON.parse(msg.data)); } catch (e) { /* ignore a malformed message */ }
    };
    socket.onclose = function () {
      setStatus("offline", "Reconnecting…");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  tick();
  window.setInterval(tick, 1000);
  if (body.dataset.live || body.dataset.requestId) connect();
})();
