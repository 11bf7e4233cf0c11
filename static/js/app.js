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
      if (event.key !== "Shift") { presses = []; return; }  /* a capital letter, not an exit */
      if (event.repeat) { return; }
      var now = Date.now();
      presses = presses.filter(function (t) { return now - t < 5000; });
      presses.push(now);
      if (presses.length >= 3) { leave(exitLink.href); }
    });
  }

  /* Error summary: it has focus when the page opens. A link goes to its field with the
     field's question (label or legend) in view above it, not only the box or the first
     answer; on a screen too short for both, the box or answer comes first. */
  var summary = doc.querySelector(".error-summary");
  if (summary) {
    summary.focus();  /* autofocus does this without JavaScript, but not always before load */
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && doc.getElementById(link.getAttribute("href").slice(1));
      if (!field) { return; }
      event.preventDefault();
      (field.closest(".field") || field).scrollIntoView();
      var shown = field.getBoundingClientRect();
      if (shown.bottom > window.innerHeight) { field.scrollIntoView({ block: "end" }); }
      field.focus({ preventScroll: true });
    });
  }

  /* Live count for answers with a limit: visible at once, announced after a pause. */
  Array.prototype.forEach.call(doc.querySelectorAll("[data-limit]"), function (area) {
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

  /* Buttons whose script is fetched on the first press, so it costs a page nothing until
     then: the speaker (speak.js) and "Draw it" (draw.js). The script then takes over. */
  Array.prototype.forEach.call(doc.querySelectorAll("button[data-script]"), function (button) {
    var box = button.closest("[data-draw]");
    if (box) { box.hidden = false; } else { button.hidden = false; }
    button.addEventListener("click", function first() {
      button.removeEventListener("click", first);
      var script = doc.createElement("script");
      script.src = button.getAttribute("data-script");
      script.onload = function () { button.click(); };
      doc.head.appendChild(script);
    });
  });

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

/* Voice notes: record with the microphone, listen back, then keep, record again or delete.
   "Keep" puts the recording into the page's own file field and sends the form, so a
   recording takes the same path as a file chosen from the phone's own recorder. */
(function () {
  "use strict";
  var box = document.querySelector("[data-recorder]");
  var fileInput = document.getElementById("voice");
  var supported = box && fileInput && window.MediaRecorder && window.DataTransfer &&
    navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  /* A chosen file is named (and a photo shown, from the phone itself) before it is sent;
     one too big to send is refused at once. */
  Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-max-bytes]"), function (input) {
    var field = input.closest(".file-field");
    var chosen = field && field.querySelector("[data-file-chosen]");
    var preview = field && field.querySelector("[data-file-preview]");
    var add = field && field.querySelector("button[name=keep]");
    if (add && !field.classList.contains("has-error")) { add.hidden = true; }
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var status = box && box.querySelector("[data-status]");
      if (file && file.size > parseInt(input.getAttribute("data-max-bytes"), 10)) {
        input.value = "";
        file = null;
        if (status) { status.textContent = box.getAttribute("data-too-big"); }
        window.alert(box ? box.getAttribute("data-too-big") : "");
      }
      if (!chosen) { return; }
      chosen.hidden = !file;
      if (add) { add.hidden = !file; }
      var name = chosen.querySelector("[data-file-name]");
      name.textContent = file ? name.getAttribute("data-words").replace("{name}", file.name) : "";
      if (preview) {
        if (preview.src) { URL.revokeObjectURL(preview.src); preview.removeAttribute("src"); }
        if (file && /^image\//.test(file.type)) { preview.src = URL.createObjectURL(file); }
        preview.hidden = !preview.src;
      }
    });
  });
  if (!supported) { return; }
  var $ = function (name) { return box.querySelector("[data-" + name + "]"); };
  var record = $("record"), stop = $("stop"), timer = $("timer"), player = $("player");
  var review = $("review"), status = $("status");
  var limit = parseInt(box.getAttribute("data-limit"), 10) || 180;
  /* One obvious way to add a voice note: the phone's own recorder waits behind a link,
     unless the page came back with a problem on that field. */
  var fileField = fileInput.closest(".file-field");
  var showFile = $("show-file");
  if (fileField && !fileField.classList.contains("has-error")) {
    fileField.hidden = true;
    showFile.hidden = false;
    showFile.addEventListener("click", function () {
      fileField.hidden = false;
      showFile.hidden = true;
      fileInput.focus();
    });
  }
  var types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
  var mimeType = types.filter(function (t) { return MediaRecorder.isTypeSupported(t); })[0] || "";
  var recorder = null, parts = [], blob = null, started = 0, ticking = null, stream = null;
  box.hidden = false;

  function show(element, visible) { element.hidden = !visible; }
  function say(key) { status.textContent = box.getAttribute("data-" + key); }
  function clock() {
    var seconds = Math.floor((Date.now() - started) / 1000);
    timer.textContent = Math.floor(seconds / 60) + ":" + ("0" + seconds % 60).slice(-2);
    if (seconds >= limit) { say("limit-reached"); finish(); }
  }
  function finish() {
    if (recorder && recorder.state === "recording") { recorder.stop(); }
    clearInterval(ticking);
  }
  function reset() {
    blob = null;
    player.removeAttribute("src");
    show(player, false); show(review, false); show(stop, false); show(record, true);
    timer.textContent = "0:00";
  }

  record.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (media) {
      stream = media;
      parts = [];
      recorder = mimeType ? new MediaRecorder(stream, { mimeType: mimeType }) : new MediaRecorder(stream);
      recorder.addEventListener("dataavailable", function (event) {
        if (event.data && event.data.size) { parts.push(event.data); }
      });
      recorder.addEventListener("stop", function () {
        stream.getTracks().forEach(function (track) { track.stop(); });
        blob = new Blob(parts, { type: recorder.mimeType || mimeType || "audio/webm" });
        player.src = URL.createObjectURL(blob);
        show(player, true); show(review, true); show(stop, false); show(record, false);
        say("recorded");
        review.querySelector("[data-keep]").focus();
      });
      recorder.start(1000);
      started = Date.now();
      ticking = setInterval(clock, 250);
      show(record, false); show(stop, true); show(review, false); show(player, false);
      say("recording");
      stop.focus();
    }).catch(function (error) {
      say(error && error.name === "NotAllowedError" ? "denied" : "missing");
      box.querySelector(".actions").hidden = true;
      if (fileField) { fileField.hidden = false; showFile.hidden = true; }
      fileInput.focus();
    });
  });
  stop.addEventListener("click", finish);
  $("again").addEventListener("click", function () { reset(); record.click(); });
  $("discard").addEventListener("click", function () { reset(); status.textContent = ""; record.focus(); });
  $("keep").addEventListener("click", function () {
    var type = blob.type.split(";")[0];
    var extension = type === "audio/mp4" ? "m4a" : type === "audio/ogg" ? "ogg" : "webm";
    var transfer = new DataTransfer();
    transfer.items.add(new File([blob], "voice-note." + extension, { type: type }));
    fileInput.files = transfer.files;
    document.querySelector("[data-keep-field]").value = "voice";
    fileInput.form.submit();
  });
}());

/* A header that grows with big text must never hide what has focus: when it takes more than
   a fifth of the screen it stops following the page, and the space kept above a focused or
   scrolled-to element is always the header's own height. */
(function () {
  "use strict";
  var header = document.querySelector("header.top");
  if (!header) { return; }
  function fit() {
    header.classList.remove("tall");
    var tall = header.offsetHeight > window.innerHeight / 5;
    header.classList.toggle("tall", tall);
    document.documentElement.style.scrollPaddingTop = tall ? "0" : (header.offsetHeight + 8) + "px";
  }
  fit();
  window.addEventListener("resize", fit);
  if ("ResizeObserver" in window) { new ResizeObserver(fit).observe(header); }
  document.addEventListener("focusin", function (event) {
    if (header.classList.contains("tall") || header.contains(event.target)) { return; }
    var box = event.target.getBoundingClientRect();
    var covered = header.getBoundingClientRect().bottom - box.top;
    if (covered > 0) { window.scrollBy(0, -covered - 8); }
  });
}());
