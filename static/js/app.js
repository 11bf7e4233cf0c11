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
     then: the speaker (speak.js), "Draw it" (draw.js) and Record (record.js). The script
     then takes over. */
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

}());

/* Files to add: a chosen file is named before it is sent, and where the browser can record,
   the recorder is offered first (static/js/record.js, fetched on the first press). */
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
  /* One obvious way to add a voice note: the phone's own recorder waits behind a link,
     unless the page came back with a problem on that field. Record fetches record.js. */
  var fileField = fileInput.closest(".file-field");
  var showFile = box.querySelector("[data-show-file]");
  if (fileField && !fileField.classList.contains("has-error")) {
    fileField.hidden = true;
    showFile.hidden = false;
    showFile.addEventListener("click", function () {
      fileField.hidden = false;
      showFile.hidden = true;
      fileInput.focus();
    });
  }
  box.hidden = false;
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
