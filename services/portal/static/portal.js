// The portal's only script: new history entries appear without a reload, and an ended
// session sends the page back to the login. No inline script anywhere (CSP: script-src 'self').
(function () {
  "use strict";
  var list = document.getElementById("entries");
  if (!list || !list.dataset.live) { return; }
  var every = Math.max(2, parseInt(list.dataset.every || "5", 10)) * 1000;
  var status = document.getElementById("live-status");

  function poll() {
    var url = list.dataset.live + "?top=" + encodeURIComponent(list.dataset.top || "");
    if (list.dataset.worker) { url += "&worker=" + encodeURIComponent(list.dataset.worker); }
    fetch(url, { credentials: "same-origin", headers: { "X-Portal-Live": "1" } })
      .then(function (resp) {
        if (resp.status === 401) { window.location.assign("/"); return null; }
        if (resp.status !== 200) { return null; }
        return resp.text();
      })
      .then(function (html) {
        if (!html) { return; }
        var holder = document.createElement("template");
        holder.innerHTML = html; // rendered and escaped by the server's templates
        var items = holder.content.querySelectorAll("li.entry");
        for (var i = items.length - 1; i >= 0; i--) {
          items[i].classList.add("fresh");
          list.insertBefore(items[i], list.firstChild);
        }
        if (items.length) {
          list.dataset.top = items[0].dataset.event;
          var empty = document.getElementById("no-entries");
          if (empty) { empty.remove(); }
          if (status) { status.textContent = list.dataset.newText || ""; }
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, every); });
  }
  if (!list.dataset.top) {
    // An empty history: everything that arrives is new.
    list.dataset.top = "none";
  }
  window.setTimeout(poll, every);
})();

// The compliance desk: new high alerts arrive by Server-Sent Events and go to the top of the
// inbox. EventSource reconnects by itself (Last-Event-ID: the portal sends what was raised
// meanwhile); while audit is down the stream says so and catches up when it is back.
(function () {
  "use strict";
  var body = document.getElementById("alerts");
  if (!body || !body.dataset.stream || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var source = new EventSource(body.dataset.stream, { withCredentials: true });
  source.addEventListener("alert", function (ev) {
    var holder = document.createElement("template");
    holder.innerHTML = ev.data; // rendered and escaped by the server's templates
    var rows = holder.content.querySelectorAll("tr.alert-row");
    for (var i = 0; i < rows.length; i++) {
      if (document.getElementById(rows[i].id)) { continue; }
      rows[i].classList.add("fresh");
      body.insertBefore(rows[i], body.firstChild);
    }
    var empty = document.getElementById("no-alerts");
    if (empty) { empty.remove(); }
    if (status && rows.length) { status.textContent = body.dataset.newText || ""; }
  });
  source.addEventListener("status", function (ev) {
    if (ev.data === "ended" || ev.data === "refused") { source.close(); window.location.assign("/"); }
    if (status && ev.data === "down") { status.textContent = body.dataset.downText || ""; }
    if (status && ev.data === "up") { status.textContent = ""; }
  });
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (the session ended): the page itself says why.
      window.setTimeout(function () { window.location.reload(); }, 3000);
    }
  };
})();
