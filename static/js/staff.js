/* voiceapp: staff pages only (templates/staff/layout.html). Every page works without it. */
(function () {
  "use strict";
  /* Staff: warn two minutes before an idle sign-out, and let them stay. */
  var idle = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  var warning = document.getElementById("idle-warning");
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
