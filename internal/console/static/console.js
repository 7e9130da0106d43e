// The console's one script (served by content hash, loaded with the
// page's CSP nonce). No inline handlers: behaviour is attached here to
// elements marked with data- attributes.
(function () {
  "use strict";

  // "Generate with AI": ask the API (same origin, the session cookie),
  // then follow the organization's job stream until this job finishes.
  function generate(button) {
    var id = button.getAttribute("data-generate");
    // data-agent is the agent route under the proposal (bom/draft,
    // budget/analyze); without it, the proposal writer's generate.
    var route = button.getAttribute("data-agent") || "generate";
    var out = document.getElementById(button.getAttribute("data-status") || "generate-status");
    function say(text) { if (out) { out.textContent = text; } }
    button.disabled = true;
    say("Requesting…");
    fetch("/api/proposals/" + encodeURIComponent(id) + "/" + route, {
      method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body }; });
    }).then(function (r) {
      if (!r.ok) {
        say("Refused: " + (r.body.detail || r.body.title || "the request was refused"));
        button.disabled = false;
        return;
      }
      var job = r.body.id;
      say("Queued (job " + job + ")…");
      var es = new EventSource("/api/jobs/stream");
      es.addEventListener("job", function (ev) {
        var j;
        try { j = JSON.parse(ev.data); } catch (e) { return; }
        if (j.id !== job) { return; }
        say("Job " + j.status + (j.error_message ? ": " + j.error_message : "") + "…");
        if (["succeeded", "failed", "cancelled", "refused", "needs_review"].indexOf(j.status) >= 0) {
          es.close();
          say("Job " + j.status + (j.error_message ? ": " + j.error_message : "") + ". Reloading…");
          window.location.reload();
        }
      });
    }).catch(function () {
      say("The request failed; try again.");
      button.disabled = false;
    });
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target.closest ? ev.target.closest("[data-generate]") : null;
    if (t) { ev.preventDefault(); generate(t); }
  });

  // An agent proposal's countdown: the server wrote the time left; this
  // keeps it current to the minute.
  function tick() {
    var el = document.querySelector("[data-expires]");
    if (!el) { return; }
    var left = Math.floor((parseInt(el.getAttribute("data-expires"), 10) - Date.now()) / 60000);
    if (isNaN(left)) { return; }
    if (left <= 0) { el.textContent = "expired"; return; }
    var d = Math.floor(left / 1440), h = Math.floor((left % 1440) / 60), m = left % 60;
    el.textContent = (d > 0 ? d + "d " : "") + (d > 0 || h > 0 ? h + "h " : "") + m + "m left";
    window.setTimeout(tick, 30000);
  }
  tick();

  // Forms marked data-confirm ask before they post.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    var msg = f.getAttribute && f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });

  // The organization switcher posts as soon as an organization is chosen
  // (its button stays for browsers without this script).
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t && t.matches && t.matches("select[data-autosubmit]")) { t.form.requestSubmit(); }
  });
})();
