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

  // The chat, streamed: a form marked data-stream (the API's chat route)
  // is posted with fetch, Accept: text/event-stream, and the answer's
  // blocks are appended as the server sends them. The blocks are HTML the
  // server sanitised (the same allow-list as the stored answer); the
  // question and every message are inserted as text, never as HTML.
  // Without fetch or a readable body the form posts as it would without
  // this script (the answer then appears when it is complete).
  function canStream() {
    return typeof window.fetch === "function" && typeof window.TextDecoder === "function" &&
      typeof window.ReadableStream === "function";
  }

  function streamChat(form) {
    var field = form.querySelector("[name=question]");
    var button = form.querySelector("button[type=submit]");
    var status = document.getElementById("chat-status");
    var conversation = document.getElementById("conversation");
    var answer = null, ended = false;
    function say(text, failed) {
      if (!status) { return; }
      status.textContent = text;
      status.className = failed ? "field-error" : "muted";
    }
    function finish(text, failed) {
      ended = true;
      form.removeAttribute("aria-busy");
      button.disabled = false;
      say(text, failed);
    }
    function el(tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) { e.className = cls; }
      if (text) { e.textContent = text; }
      return e;
    }
    function onEvent(name, data) {
      var d;
      try { d = JSON.parse(data); } catch (e) { return; }
      if (name === "turn") {
        var none = document.getElementById("no-turns");
        if (none) { none.remove(); }
        var section = el("section", "turn");
        section.id = "turn-" + d.id;
        var q = el("p", "question");
        q.appendChild(el("strong", "", "Q:"));
        q.appendChild(document.createTextNode(" " + d.question));
        section.appendChild(q);
        answer = el("div", "body answer");
        answer.setAttribute("data-streaming", "");
        answer.appendChild(el("span", "badge ai", "AI-generated"));
        section.appendChild(answer);
        conversation.appendChild(section);
      } else if (name === "block" && answer && typeof d.html === "string") {
        answer.insertAdjacentHTML("beforeend", d.html); // sanitised by the server
      } else if (name === "done") {
        if (answer) { answer.removeAttribute("data-streaming"); }
        field.value = "";
        finish("Answered.", false);
      } else if (name === "stopped" || name === "error") {
        if (answer) { answer.removeAttribute("data-streaming"); }
        finish((name === "stopped" ? "Stopped: " : "The answer failed: ") + (d.detail || "no detail"), true);
      }
    }
    form.setAttribute("aria-busy", "true");
    button.disabled = true;
    say("Answering…", false);
    fetch(form.getAttribute("data-stream"), {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "text/event-stream", "Content-Type": "application/json" },
      body: JSON.stringify({ question: field.value })
    }).then(function (res) {
      var type = res.headers.get("Content-Type") || "";
      if (!res.ok || type.indexOf("text/event-stream") !== 0 || !res.body) {
        // A refusal before the answer started: problem+json (the guard,
        // a kill switch, the budget, the rate limit).
        return res.json().then(function (p) {
          finish("Refused: " + (p.detail || p.title || "status " + res.status), true);
        }, function () { finish("Refused (status " + res.status + ").", true); });
      }
      var reader = res.body.getReader(), decoder = new TextDecoder(), buf = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) {
            if (!ended) { finish("The answer ended early; reload the page to see what was stored.", true); }
            return;
          }
          buf += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            var frame = buf.slice(0, i), name = "message", data = [];
            buf = buf.slice(i + 2);
            frame.split("\n").forEach(function (line) {
              if (line.indexOf("event:") === 0) { name = line.slice(6).trim(); }
              else if (line.indexOf("data:") === 0) { data.push(line.slice(5).replace(/^ /, "")); }
            });
            onEvent(name, data.join("\n"));
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      if (!ended) { finish("The connection failed; reload the page to see what was stored, or try again.", true); }
    });
  }

  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.getAttribute || !f.getAttribute("data-stream") || !canStream() || ev.defaultPrevented) { return; }
    if (!f.querySelector("[name=question]").value.trim()) { return; } // the server's message beside the field
    ev.preventDefault();
    streamChat(f);
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
