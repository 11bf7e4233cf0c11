/* voiceapp: the drawing pad (templates/components/draw.html). Progressive enhancement: the
   photo field works without it. Pointer events cover touch, mouse and pen. The drawing is
   kept as a PNG put into the page's photo field, then the form is sent, so it takes the same
   checked, sealed path as a photo and nothing is stored in the browser. */
(function () {
  "use strict";
  var pad = document.querySelector("[data-draw]");
  var input = document.getElementById("photo");
  if (!pad || !input || !window.DataTransfer || !pad.querySelector("canvas").getContext) { return; }
  var canvas = pad.querySelector("[data-canvas]");
  var ctx = canvas.getContext("2d");
  var strokes = [], current = null, colour = "#1c1b1f", erasing = false, house = true;
  var status = pad.querySelector("[data-draw-status]");
  var W = canvas.width, H = canvas.height;
  pad.hidden = false;
  /* With the pad, the photo field waits behind its own button, as the recorder does. */
  var photoField = input.closest(".file-field");
  var showPhoto = pad.querySelector("[data-show-photo]");
  if (photoField && !photoField.classList.contains("has-error")) {
    photoField.classList.add("after-draw");
    showPhoto.addEventListener("click", function () {
      photoField.classList.remove("after-draw");
      showPhoto.hidden = true;
      input.focus();
    });
  } else { showPhoto.hidden = true; }

  function outline() {  /* the page's house, drawn on the paper so the PNG keeps it */
    ctx.save();
    ctx.strokeStyle = "#8a8590"; ctx.lineWidth = 6; ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(W * .12, H * .45); ctx.lineTo(W * .5, H * .08); ctx.lineTo(W * .88, H * .45);
    ctx.moveTo(W * .2, H * .38); ctx.lineTo(W * .2, H * .94); ctx.lineTo(W * .8, H * .94);
    ctx.lineTo(W * .8, H * .38);
    ctx.stroke();
    ctx.restore();
  }
  function paint() {
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, W, H);
    if (house) { outline(); }
    strokes.forEach(function (stroke) {
      ctx.strokeStyle = stroke.colour; ctx.lineWidth = stroke.width;
      ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.beginPath();
      stroke.points.forEach(function (p, i) { if (i) { ctx.lineTo(p[0], p[1]); } else { ctx.moveTo(p[0], p[1]); } });
      if (stroke.points.length === 1) { ctx.lineTo(stroke.points[0][0] + .1, stroke.points[0][1]); }
      ctx.stroke();
    });
  }
  function at(event) {
    var box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * W / box.width, (event.clientY - box.top) * H / box.height];
  }
  canvas.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    current = { colour: erasing ? "#ffffff" : colour, width: erasing ? 36 : 14, points: [at(event)] };
    strokes.push(current);
    paint();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!current) { return; }
    event.preventDefault();
    current.points.push(at(event));
    paint();
  });
  function end() { current = null; }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  var swatches = pad.querySelectorAll(".swatch");
  Array.prototype.forEach.call(swatches, function (button) {
    button.addEventListener("click", function () {
      Array.prototype.forEach.call(swatches, function (b) { b.setAttribute("aria-pressed", String(b === button)); });
      erasing = button.hasAttribute("data-eraser");
      if (!erasing) { colour = button.getAttribute("data-colour"); }
    });
  });
  pad.querySelector("[data-undo]").addEventListener("click", function () { strokes.pop(); paint(); });
  pad.querySelector("[data-clear]").addEventListener("click", function () { strokes = []; paint(); });
  var background = pad.querySelector("[data-background]");
  background.addEventListener("click", function () {
    house = !house;
    background.setAttribute("aria-pressed", String(house));
    paint();
  });
  /* Continue (or any button that sends the page) keeps the drawing first. */
  var form = input.form, sending = false;
  form.addEventListener("submit", function (event) {
    if (sending || !strokes.length || (input.files && input.files.length)) { return; }
    event.preventDefault();
    var button = event.submitter;
    status.textContent = pad.getAttribute("data-kept");
    canvas.toBlob(function (blob) {
      var transfer = new DataTransfer();
      transfer.items.add(new File([blob], "drawing.png", { type: "image/png" }));
      input.files = transfer.files;
      sending = true;
      if (button && button.name) {  /* a language button, say: keep what it says */
        var same = document.createElement("input");
        same.type = "hidden"; same.name = button.name; same.value = button.value;
        form.appendChild(same);
      }
      form.submit();
    }, "image/png");
  });
  paint();
}());
