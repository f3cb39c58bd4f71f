// The device page's poller: one POST /device/poll.json per interval (the server sends at
// most one token request per call and enforces the interval itself). Without JavaScript,
// the "Check now" button does the same.
(function () {
  "use strict";
  var box = document.getElementById("device-poll");
  if (!box) return;
  var status = document.getElementById("device-status");
  var words = {
    waiting: "Waiting for the interval…",
    authorization_pending: "Not yet: the user has not finished (authorization_pending).",
    slow_down: "The server asked to slow down (slow_down): polling 5 s less often."
  };
  function schedule(seconds) {
    window.setTimeout(poll, Math.max(seconds, 1) * 1000);
  }
  function poll() {
    fetch(box.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": box.dataset.csrf, "Accept": "application/json" }
    })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.next) { window.location.assign(answer.next); return; }
        if (status && words[answer.status]) status.textContent = words[answer.status];
        schedule(answer.interval || Number(box.dataset.interval));
      })
      .catch(function () { schedule(Number(box.dataset.interval) * 2); });
  }
  schedule(Number(box.dataset.interval));
})();
