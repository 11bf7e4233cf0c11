/* voiceapp: progressive enhancement only. Every page works without this file. */
(function () {
  "use strict";
  var doc = document;
  var body = doc.body;

  /* Leave this page quickly: hide the page at once, then replace it (so Back does not
     return here) with the server's /leave, which ends the session and sends the browser
     on to a neutral site. Shift pressed three times within five seconds does the same. */
  function leave(href) {
    body.style.display = "none";
    doc.title = "";
    window.location.replace(href);
  }
  var exitLink = doc.querySelector("[data-exit]");
  if (exitLink) {
    exitLink.addEventListener("click", function (event) {
      event.preventDefault();
      leave(exitLink.href);
    });
    var presses = [];
    doc.addEventListener("keydown", function (event) {
      if (event.key !== "Shift" || event.repeat) { return; }
      var now = Date.now();
      presses = presses.filter(function (t) { return now - t < 5000; });
      presses.push(now);
      if (presses.length >= 3) { leave(exitLink.href); }
    });
  }

  /* Live count for long answers: visible at once, announced after a pause. */
  Array.prototype.forEach.call(doc.querySelectorAll("textarea[data-limit]"), function (area) {
    var limit = parseInt(area.getAttribute("data-limit"), 10);
    var shown = doc.getElementById(area.id + "-count");
    var spoken = doc.getElementById(area.id + "-count-live");
    if (!shown) { return; }
    var timer = null;
    function message() {
      var left = limit - area.value.length;
      var template = left >= 0 ? shown.getAttribute("data-left") : shown.getAttribute("data-over");
      return template.replace("{n}", Math.abs(left).toLocaleString(doc.documentElement.lang));
    }
    function update() {
      shown.textContent = message();
      shown.classList.toggle("over", area.value.length > limit);
      clearTimeout(timer);
      timer = setTimeout(function () { if (spoken) { spoken.textContent = message(); } }, 1000);
    }
    area.addEventListener("input", update);
    update();
  });

  /* Read aloud with the browser's own voice, if the child asked for it. */
  var reader = doc.querySelector(".read-aloud");
  if (reader && "speechSynthesis" in window && body.getAttribute("data-read-aloud") === "1") {
    reader.hidden = false;
    reader.addEventListener("click", function () {
      var main = doc.getElementById("main");
      window.speechSynthesis.cancel();
      var parts = main.querySelectorAll("h1, p, legend, label, dt, dd, li, summary");
      var text = Array.prototype.map.call(parts, function (el) {
        return el.innerText;
      }).join(". ");
      var utterance = new window.SpeechSynthesisUtterance(text);
      utterance.lang = doc.documentElement.lang;
      window.speechSynthesis.speak(utterance);
    });
  }

  /* Staff: warn two minutes before an idle sign-out, and let them stay. */
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var warning = doc.getElementById("idle-warning");
  if (idle > 0 && warning) {
    var warnTimer;
    var schedule = function () {
      clearTimeout(warnTimer);
      warning.hidden = true;
      warnTimer = setTimeout(function () { warning.hidden = false; }, Math.max(idle - 120, 10) * 1000);
    };
    var stay = warning.querySelector("button");
    if (stay) {
      stay.addEventListener("click", function () {
        fetch(stay.getAttribute("data-url"), { method: "GET", credentials: "same-origin" })
          .then(function (response) { if (response.ok) { schedule(); } else { window.location.reload(); } });
      });
    }
    schedule();
  }
}());

/* Print buttons, and a passphrase length meter (the server checks again). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-strength]"), function (meter) {
    var input = document.getElementById(meter.getAttribute("data-for"));
    if (!input) { return; }
    input.addEventListener("input", function () {
      var length = input.value.length;
      var words = input.value.trim().split(/\s+/).length;
      var level = length >= 24 || (length >= 16 && words >= 4) ? "strong" : length >= 16 ? "okay" : "weak";
      meter.textContent = input.value ? meter.getAttribute("data-" + level) : "";
    });
  });
}());
