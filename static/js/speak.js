/* voiceapp: the speaker button, loaded by app.js on the first press. */
(function () {
  "use strict";
  var doc = document;
  /* The speaker button: reads the page once, each thing in turn (headings, words, answers,
     buttons, then the tools and the quick exit), never what is hidden or only decoration,
     in the page's language. The browser's voice where it has one for the language;
     otherwise recordings that ship with the app (static/speech/<lang>/<hash>.opus, named by
     the SHA-256 of the words as voiceapp/speech.py names them), fetched only when pressed,
     or, for a sentence with a name, a date, the organisation's number or the child's score,
     its spoken form from the server ([data-said]). A child's own answers ([data-own-words])
     are read only by a voice on the device, or by the server. Stop stops. */
  var speak = doc.querySelector("[data-speak]");
  if (speak) {
    var speakStatus = doc.querySelector("[data-speak-status]");
    var lang = (doc.documentElement.lang || "en").split("-")[0];
    var reading = null;  /* {stop: function} while reading */
    var SAID = "h1, h2, h3, p, legend, label, dt, dd, summary, li, a.button, a.back, button, [data-exit], .choice label";
    var SKIP = "[hidden], [aria-hidden=true], .visually-hidden, .language-choice, [data-speak], [data-speak-status], .site-footer, details:not([open]) > :not(summary)";
    /* The page's own words first (its question, its answers, Continue), then the tools
       around them (Back, the menu, how far through), then the quick exit. */
    var main = doc.querySelector("main");
    var rank = function (el) {
      return el.closest(".page-tools, .progress") ? 1 : main && main.contains(el) ? 0 : 2;
    };
    var showStop = function (on) {
      speak.querySelector("[data-listen]").hidden = on;
      speak.querySelector("[data-stop]").hidden = !on;
    };
    /* The words of an element; an answer's note (<small>) is read on its own, after it. */
    var wordsOf = function (el, drop) {
      var copy = el.cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll(drop), function (x) { x.remove(); });
      return copy.textContent.replace(/\s+/g, " ").trim();
    };
    var UNSAID = "[aria-hidden=true], .visually-hidden, svg, .emoji";
    var parts = function () {
      var found = Array.prototype.filter.call(doc.querySelectorAll(SAID), function (el) {
        return !el.closest(SKIP) && el.getClientRects().length && !el.querySelector(SAID);
      }).map(function (el, n) { return { el: el, n: n }; }).sort(function (a, b) {
        return rank(a.el) - rank(b.el) || a.n - b.n;
      }).map(function (found) { return found.el; });
      var seen = {}, all = [];
      found.forEach(function (el) {
        var part = { own: !!el.closest("[data-own-words]"), said: el.getAttribute("data-said"),
                     lang: (el.closest("[lang]") || doc.documentElement).lang.split("-")[0] };
        [wordsOf(el, UNSAID + ", small")].concat(Array.prototype.map.call(
          el.querySelectorAll("small"), function (note) { return wordsOf(note, UNSAID); }))
          .forEach(function (text, n) {
            all.push({ text: text, own: part.own, said: n ? null : part.said, lang: part.lang });
          });
      });
      return all.filter(function (part) {
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
      var gone = false;  /* each part goes on to the next once, whatever the browser says */
      var next = function (ok) {
        if (gone) { return; }
        gone = true;
        play(queue, index + 1, said || ok);
      };
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
      if ((part.own && !part.said) || part.lang !== lang) { return next(false); }
      /* A sentence with the meeting's date, place or chair, or the child's own score, is
         spoken by the server ([data-said], never kept by the browser); every other one was
         recorded ahead, named by its words. */
      var named = window.crypto && window.crypto.subtle;
      var where = part.said ? Promise.resolve(part.said) : named ? hash(part.text).then(function (name) {
        return speak.getAttribute("data-speech") + "/" + lang + "/" + name + ".opus";
      }) : null;
      if (!where) { return next(false); }
      where.then(function (src) {
        if (!reading) { return; }
        var audio = new window.Audio(src);
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

}());
