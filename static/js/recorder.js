// Record from the microphone on the project page (MediaRecorder): a timer, the input level,
// pause/resume and discard. Stopping hands the recording to the upload form as an ordinary file,
// so it gets the same progress bar and the same checks on the server as any upload.
(function () {
  "use strict";

  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function clock(ms) {
    var s = Math.floor(ms / 1000);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + two(m) : m) + ":" + two(s % 60);
  }

  function extension(type) {
    if (type.indexOf("ogg") >= 0) return "ogg";
    if (type.indexOf("mp4") >= 0) return "m4a";
    return "webm";
  }

  // The date and time in the person's time zone (their setting, which the page carries), not the browser's.
  function fileName(prefix, type, when, zone) {
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-CA", {timeZone: zone || undefined, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23"}).formatToParts(when).forEach(function (p) {
        parts[p.type] = p.value;
      });
    } catch (e) {  // an unknown zone: the browser's own
      return fileName(prefix, type, when, "");
    }
    return prefix + " " + parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + "-" + parts.minute +
      "." + extension(type);
  }

  function init(box) {
    var msg = box.dataset;
    var form = document.querySelector("form[data-upload]");
    var input = form && form.querySelector("input[type=file]");
    var q = function (name) { return box.querySelector("[data-rec-" + name + "]"); };
    var status = q("status"), error = q("error"), time = q("time"), level = q("level");
    var buttons = { start: q("start"), pause: q("pause"), resume: q("resume"), stop: q("stop"), discard: q("discard") };
    var stream = null, recorder = null, chunks = [], audio = null, frame = 0, ticker = 0;
    var startedAt = 0, elapsed = 0, keep = false, begun = null;

    function show(names) {
      Object.keys(buttons).forEach(function (k) { buttons[k].hidden = names.indexOf(k) < 0; });
    }

    function fail(text) {
      error.textContent = text;
      error.hidden = false;
    }

    function now() { return elapsed + (startedAt ? Date.now() - startedAt : 0); }

    function tick() { time.textContent = clock(now()); }

    function meter(analyser) {
      var data = new Uint8Array(analyser.fftSize);
      (function draw() {
        analyser.getByteTimeDomainData(data);
        var sum = 0;
        for (var i = 0; i < data.length; i++) { var v = (data[i] - 128) / 128; sum += v * v; }
        level.value = Math.min(1, Math.sqrt(sum / data.length) * 3);
        frame = window.requestAnimationFrame(draw);
      })();
    }

    function release() {
      window.cancelAnimationFrame(frame);
      window.clearInterval(ticker);
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      if (audio) audio.close();
      stream = recorder = audio = null;
      startedAt = 0;
      level.value = 0;
      box.classList.remove("recording");
    }

    function reset() {
      release();
      elapsed = 0;
      chunks = [];
      tick();
      show(["start"]);
    }

    function finish() {
      var type = (recorder && recorder.mimeType) || "audio/webm";
      var blob = new Blob(chunks, { type: type.split(";")[0] });
      var name = fileName(msg.msgName, type, begun, msg.timeZone);
      reset();
      status.textContent = "";
      if (!keep || !blob.size || !input) return;
      var transfer = new DataTransfer();
      transfer.items.add(new File([blob], name, { type: blob.type }));
      input.files = transfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function start() {
      error.hidden = true;
      if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
          !window.MediaRecorder) {
        fail(msg.msgUnsupported);
        return;
      }
      buttons.start.disabled = true;
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (s) {
        stream = s;
        var type = TYPES.filter(function (t) { return MediaRecorder.isTypeSupported(t); })[0];
        recorder = type ? new MediaRecorder(s, { mimeType: type }) : new MediaRecorder(s);
        chunks = [];
        keep = false;
        recorder.addEventListener("dataavailable", function (e) { if (e.data && e.data.size) chunks.push(e.data); });
        recorder.addEventListener("stop", finish);
        recorder.start(1000);
        begun = new Date();
        startedAt = Date.now();
        elapsed = 0;
        ticker = window.setInterval(tick, 250);
        var Ctx = window.AudioContext || window.webkitAudioContext;
        if (Ctx) {
          audio = new Ctx();
          var analyser = audio.createAnalyser();
          analyser.fftSize = 1024;
          audio.createMediaStreamSource(s).connect(analyser);
          meter(analyser);
        }
        box.classList.add("recording");
        status.textContent = msg.msgRecording;
        show(["pause", "stop", "discard"]);
      }).catch(function (err) {
        var name = err && err.name;
        fail(name === "NotAllowedError" || name === "SecurityError" ? msg.msgDenied
          : name === "NotFoundError" || name === "OverconstrainedError" ? msg.msgNoDevice
          : msg.msgFailed + (err && err.message ? " (" + err.message + ")" : ""));
        release();
      }).then(function () { buttons.start.disabled = false; });
    }

    buttons.start.addEventListener("click", start);
    buttons.pause.addEventListener("click", function () {
      recorder.pause();
      elapsed = now();
      startedAt = 0;
      status.textContent = msg.msgPaused;
      box.classList.remove("recording");
      show(["resume", "stop", "discard"]);
    });
    buttons.resume.addEventListener("click", function () {
      recorder.resume();
      startedAt = Date.now();
      status.textContent = msg.msgRecording;
      box.classList.add("recording");
      show(["pause", "stop", "discard"]);
    });
    buttons.stop.addEventListener("click", function () {
      keep = true;
      show([]);
      recorder.stop();
    });
    buttons.discard.addEventListener("click", function () {
      if (!window.confirm(msg.msgDiscard)) return;
      keep = false;
      show([]);
      recorder.stop();
    });
    window.addEventListener("beforeunload", function (e) {
      if (recorder) {
        e.preventDefault();
        e.returnValue = msg.msgDiscard;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-recorder]").forEach(init);
  });
})();
