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

  /* The speaker button: reads the page once, each thing in turn (headings, words, answers,
     buttons, the quick exit), never what is hidden or only decoration, in the page's
     language. The browser's voice where it has one for the language; otherwise recordings
     that ship with the app (static/speech/<lang>/<hash>.opus, named by the SHA-256 of the
     words as voiceapp/speech.py names them), fetched only when pressed. A child's own
     answers ([data-own-words]) are read only by a voice on the device. Stop stops. */
  var speak = doc.querySelector("[data-speak]");
  if (speak && window.Audio) {
    var speakStatus = doc.querySelector("[data-speak-status]");
    var lang = (doc.documentElement.lang || "en").split("-")[0];
    var reading = null;  /* {stop: function} while reading */
    var SAID = "h1, h2, h3, p, legend, label, dt, dd, summary, li, a.button, a.back, button, [data-exit], .choice label";
    var SKIP = "[hidden], [aria-hidden=true], .visually-hidden, .language-choice, [data-speak], [data-speak-status], .site-footer";
    speak.hidden = false;
    var showStop = function (on) {
      speak.querySelector("[data-listen]").hidden = on;
      speak.querySelector("[data-stop]").hidden = !on;
    };
    var wordsOf = function (el) {
      var copy = el.cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll("[aria-hidden=true], .visually-hidden, svg, .emoji"), function (x) { x.remove(); });
      return copy.textContent.replace(/\s+/g, " ").trim();
    };
    var parts = function () {
      var found = Array.prototype.filter.call(doc.querySelectorAll(SAID), function (el) {
        return !el.closest(SKIP) && el.getClientRects().length && !el.querySelector(SAID);
      });
      var seen = {};
      return found.map(function (el) {
        return { text: wordsOf(el), own: !!el.closest("[data-own-words]"),
                 lang: (el.closest("[lang]") || doc.documentElement).lang.split("-")[0] };
      }).filter(function (part) {
        if (!part.text || seen[part.text]) { return false; }
        seen[part.text] = true;
        return true;
      });
    };
    var voiceFor = function (code, onDevice) {
      var voices = window.speechSynthesis ? window.speechSynthesis.getVoices() : [];
      return voices.filter(function (v) {
        return v.lang.toLowerCase().split(/[-_]/)[0] === code && (!onDevice || v.localService);
      })[0] || null;
    };
    var hash = function (text) {
      return window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(lang + "\n" + text))
        .then(function (buffer) {
          return Array.prototype.map.call(new Uint8Array(buffer).slice(0, 8), function (b) {
            return ("0" + b.toString(16)).slice(-2);
          }).join("");
        });
    };
    var finish = function (message) {
      reading = null;
      showStop(false);
      if (message) { speakStatus.textContent = message; }
    };
    var stop = function () {
      if (reading) { reading.stop(); }
      finish("");
    };
    var play = function (queue, index, said) {
      if (!reading) { return; }
      if (index >= queue.length) {
        return finish(said ? "" : speak.getAttribute(queue.some(function (q) { return q.own; }) ? "data-cannot-own" : "data-cannot"));
      }
      var part = queue[index];
      var next = function (ok) { play(queue, index + 1, said || ok); };
      var voice = voiceFor(part.lang, part.own || doc.body.hasAttribute("data-on-device-voice"));
      if (voice) {
        var utterance = new window.SpeechSynthesisUtterance(part.text);
        utterance.lang = doc.documentElement.lang && part.lang === lang ? doc.documentElement.lang : part.lang;
        utterance.voice = voice;
        utterance.onend = function () { next(true); };
        utterance.onerror = function () { next(false); };
        window.speechSynthesis.speak(utterance);
        reading.stop = function () { window.speechSynthesis.cancel(); };
        return;
      }
      if (part.own || part.lang !== lang || !(window.crypto && window.crypto.subtle)) { return next(false); }
      hash(part.text).then(function (name) {
        if (!reading) { return; }
        var audio = new window.Audio(speak.getAttribute("data-speech") + "/" + lang + "/" + name + ".opus");
        audio.setAttribute("data-spoken", part.text);
        doc.body.appendChild(audio);
        var done = function (ok) { audio.pause(); audio.remove(); next(ok); };
        audio.addEventListener("ended", function () { done(true); });
        audio.addEventListener("error", function () { done(false); });
        reading.stop = function () { audio.pause(); audio.remove(); };
        audio.play().catch(function () { done(false); });
      });
    };
    speak.addEventListener("click", function () {
      if (reading) { return stop(); }
      speakStatus.textContent = "";
      reading = { stop: function () {} };
      showStop(true);
      play(parts(), 0, false);
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
