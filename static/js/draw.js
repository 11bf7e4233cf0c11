/* voiceapp: the drawing pad (templates/components/draw.html). Progressive enhancement: the
   photo field works without it. Pointer events cover touch, mouse and pen. The drawing is
   kept as a PNG put into the page's photo field, then the form is sent, so it takes the same
   checked, sealed path as a photo and nothing is stored in the browser. */
(function () {
  "use strict";
  var pad = document.querySelector("[data-draw]");
  var input = document.getElementById("photo");
  if (!pad || !input || !window.DataTransfer) { return; }
  var words = pad.getAttribute("data-words").split("|");
  var say = { black: words[0], red: words[1], blue: words[2], green: words[3], rubber: words[4],
              undo: words[5], clear: words[6], blank: words[7], photo: words[8], hint: words[9],
              kept: words[10], colours: words[11], inHouse: words[12] };
  var NS = "http://www.w3.org/2000/svg";
  function make(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text) { el.textContent = text; }
    return el;
  }
  function swatch(name, colour, extra) {
    var b = make("button", { type: "button", "class": "swatch", "aria-pressed": "false" });
    b.appendChild(make("span", { "class": "visually-hidden" }, name));
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 20 20"); svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var mark = document.createElementNS(NS, colour ? "circle" : "path");
    if (colour) {
      b.setAttribute("data-colour", colour);
      mark.setAttribute("cx", "10"); mark.setAttribute("cy", "10"); mark.setAttribute("r", "9");
      mark.setAttribute("fill", colour);
    } else {
      mark.setAttribute("d", extra); mark.setAttribute("fill", "none");
      mark.setAttribute("stroke", "#1c1b1f"); mark.setAttribute("stroke-width", "2.5");
      mark.setAttribute("stroke-linecap", "round"); mark.setAttribute("stroke-linejoin", "round");
    }
    svg.appendChild(mark);
    b.appendChild(svg);
    return b;
  }
  var open = pad.querySelector("[data-draw-open]");
  var hintId = "draw-hint";
  var canvas = make("canvas", { width: "640", height: "480", role: "img",
                                "aria-label": open.textContent.trim(), "aria-describedby": hintId });
  var tools = make("div", { "class": "draw-tools", role: "group", "aria-label": say.colours });
  [["black", "#1c1b1f"], ["red", "#d62828"], ["blue", "#1f5c99"], ["green", "#2a9d3f"]].forEach(function (c) {
    tools.appendChild(swatch(say[c[0]], c[1]));
  });
  var rubber = swatch(say.rubber, null, "M3 14l7-9 7 5-5 7H6z");
  rubber.setAttribute("data-eraser", "");
  tools.appendChild(rubber);
  var undo = swatch(say.undo, null, "M8 4L3 9l5 5M3 9h9a5 5 0 0 1 0 10h-2");
  undo.removeAttribute("aria-pressed");  /* an action, not a pen: beside the group */
  undo.setAttribute("data-undo", "");
  var row = make("div", { "class": "draw-row" });
  row.appendChild(tools); row.appendChild(undo);
  var actions = make("div", { "class": "draw-actions" });
  var clear = make("button", { type: "button", "class": "button small secondary" }, say.clear);
  /* A house to draw in, on a page about a house; the button says what it will do. */
  var house = pad.hasAttribute("data-house");
  var background = make("button", { type: "button", "class": "button small secondary" },
                        say.blank);
  background.hidden = !house;
  var showPhoto = make("button", { type: "button", "class": "button small secondary" }, say.photo);
  actions.appendChild(background); actions.appendChild(clear); actions.appendChild(showPhoto);
  var status = make("p", { "class": "status", role: "status" });
  pad.appendChild(make("p", { "class": "visually-hidden", id: hintId }, say.hint));
  pad.appendChild(canvas); pad.appendChild(row); pad.appendChild(actions); pad.appendChild(status);
  open.hidden = true;
  tools.firstChild.setAttribute("aria-pressed", "true");
  tools.firstChild.focus();  /* "Draw it" has gone: the first pen has focus instead */
  canvas.setAttribute("data-canvas", "");
  var ctx = canvas.getContext("2d");
  /* Every stroke, in order; "Start again" is one more step ({clear: true}), so Undo can bring
     back what it cleared. */
  var strokes = [], current = null, colour = "#1c1b1f", erasing = false;
  function shown() {
    var from = 0;
    strokes.forEach(function (stroke, n) { if (stroke.clear) { from = n + 1; } });
    return strokes.slice(from);
  }
  var W = canvas.width, H = canvas.height;
  /* With the pad, the photo field waits behind its own button, as the recorder does. */
  var photoField = input.closest(".file-field");
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
    shown().forEach(function (stroke) {
      ctx.strokeStyle = stroke.colour; ctx.lineWidth = stroke.width;
      ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.beginPath();
      stroke.points.forEach(function (p, i) { if (i) { ctx.lineTo(p[0], p[1]); } else { ctx.moveTo(p[0], p[1]); } });
      if (stroke.points.length === 1) { ctx.lineTo(stroke.points[0][0] + .1, stroke.points[0][1]); }
      ctx.stroke();
    });
  }
  /* Where on the drawing a finger, mouse or pen is: the drawing fills the canvas's box
     (kept at its shape by the stylesheet); if the box were ever wider or taller, the
     drawing sits in its middle, and the point is measured from there. */
  function at(event) {
    var box = canvas.getBoundingClientRect();
    var width = canvas.clientWidth, height = canvas.clientHeight;  /* inside the border */
    var scale = Math.min(width / W, height / H);
    var left = box.left + canvas.clientLeft + (width - W * scale) / 2;
    var top = box.top + canvas.clientTop + (height - H * scale) / 2;
    return [(event.clientX - left) / scale, (event.clientY - top) / scale];
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

  var swatches = tools.querySelectorAll(".swatch[aria-pressed]");
  Array.prototype.forEach.call(swatches, function (button) {
    button.addEventListener("click", function () {
      Array.prototype.forEach.call(swatches, function (b) { b.setAttribute("aria-pressed", String(b === button)); });
      erasing = button.hasAttribute("data-eraser");
      if (!erasing) { colour = button.getAttribute("data-colour"); }
    });
  });
  undo.addEventListener("click", function () { strokes.pop(); paint(); });
  clear.addEventListener("click", function () {
    if (shown().length) { strokes.push({ clear: true }); paint(); }
  });
  background.addEventListener("click", function () {
    house = !house;
    background.textContent = house ? say.blank : say.inHouse;
    paint();
  });
  /* Continue (or any button that sends the page) keeps the drawing first. */
  var form = input.form, sending = false;
  form.addEventListener("submit", function (event) {
    if (sending || !shown().length || (input.files && input.files.length)) { return; }
    event.preventDefault();
    var button = event.submitter;
    status.textContent = say.kept;
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
