/* voiceapp: the recorder (templates/components/recorder.html), fetched by app.js on the first
   press of Record. Record with the microphone, listen back, then keep, record again or
   delete. "Keep" (or Continue) puts the recording into the page's own file field and sends
   the form, so a recording takes the same path as a file chosen from the phone's own
   recorder. */
(function () {
  "use strict";
  var box = document.querySelector("[data-recorder]");
  var fileInput = document.getElementById("voice");
  var $ = function (name) { return box.querySelector("[data-" + name + "]"); };
  var record = $("record"), stop = $("stop"), timer = $("timer"), player = $("player");
  var review = $("review"), status = $("status"), showFile = $("show-file");
  var fileField = fileInput.closest(".file-field");
  var limit = parseInt(box.getAttribute("data-limit"), 10) || 180;
  var types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
  var mimeType = types.filter(function (t) { return MediaRecorder.isTypeSupported(t); })[0] || "";
  var recorder = null, parts = [], blob = null, started = 0, ticking = null, stream = null;

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
  function putInField() {
    var type = blob.type.split(";")[0];
    var extension = type === "audio/mp4" ? "m4a" : type === "audio/ogg" ? "ogg" : "webm";
    var transfer = new DataTransfer();
    transfer.items.add(new File([blob], "voice-note." + extension, { type: type }));
    fileInput.files = transfer.files;
  }
  $("keep").addEventListener("click", function () {
    putInField();
    document.querySelector("[data-keep-field]").value = "voice";
    fileInput.form.submit();
  });
  /* Continue (or any button that sends the page) keeps a recording not yet kept: a child
     who recorded and pressed the big button meant to send it. "Delete it" throws it away. */
  fileInput.form.addEventListener("submit", function () {
    if (recorder && recorder.state === "recording") { return; }
    if (blob && !(fileInput.files && fileInput.files.length)) { putInField(); }
  });
}());
