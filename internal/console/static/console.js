// The console's one script (served by content hash, loaded with the
// page's CSP nonce). No inline handlers: behaviour is attached here to
// elements marked with data- attributes.
(function () {
  "use strict";

  // "Generate with AI": ask the API (same origin, the session cookie),
  // then follow the organization's job stream until this job finishes.
  function generate(button) {
    var id = button.getAttribute("data-generate");
    var out = document.getElementById("generate-status");
    function say(text) { if (out) { out.textContent = text; } }
    button.disabled = true;
    say("Requesting…");
    fetch("/api/proposals/" + encodeURIComponent(id) + "/generate", {
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
