// Drag-and-drop multi-file upload with a progress bar per file.
// Each file is its own XMLHttpRequest (upload progress events), two at a time.
// Without JavaScript the same form posts every file at once and the page
// lists what was accepted and what was rejected.
(function () {
  "use strict";

  var PARALLEL = 2;

  function init(form) {
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector("[data-dropzone]");
    var list = document.querySelector("[data-upload-list]");
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var maxBytes = parseInt(form.dataset.maxBytes, 10) || 0;
    var msg = form.dataset;
    var waiting = [];
    var running = 0;
    var refreshTimer = null;

    form.classList.add("js");
    input.removeAttribute("required");

    function el(tag, cls, text) {
      var node = document.createElement(tag);
      if (cls) node.className = cls;
      if (text) node.textContent = text;
      return node;
    }

    function item(file) {
      var li = el("li");
      li.appendChild(el("span", "name", file.name));
      var side = el("span", "side");
      li.appendChild(side);
      var note = el("span", "note");
      li.appendChild(note);
      list.appendChild(li);
      return { li: li, side: side, note: note, file: file };
    }

    function settle(entry, state, text) {
      entry.li.className = state;
      entry.note.textContent = text;
      entry.side.textContent = "";
      var bar = entry.li.querySelector("progress");
      if (bar) bar.remove();
    }

    function refreshJobs() {
      // Coalesce: several files finishing together reload the table once.
      if (refreshTimer || !window.htmx || !document.getElementById("jobs")) return;
      refreshTimer = setTimeout(function () {
        refreshTimer = null;
        window.htmx.ajax("GET", form.dataset.jobsUrl, { target: "#jobs", swap: "outerHTML" });
      }, 500);
    }

    function add(files) {
      for (var i = 0; i < files.length; i++) {
        var entry = item(files[i]);
        if (maxBytes && files[i].size > maxBytes) {
          settle(entry, "rejected", msg.msgTooLarge);
          continue;
        }
        entry.note.textContent = "";
        waiting.push(entry);
      }
      pump();
    }

    function pump() {
      while (running < PARALLEL && waiting.length) send(waiting.shift());
    }

    function finished() {
      running -= 1;
      refreshJobs();
      pump();
    }

    function send(entry) {
      running += 1;
      var xhr = new XMLHttpRequest();
      var data = new FormData();
      data.append("files", entry.file, entry.file.name);
      // The form's options (urgent, ...) go with every file.
      Array.prototype.forEach.call(form.querySelectorAll("[data-upload-option]"), function (field) {
        if (!field.disabled && (field.type === "checkbox" ? field.checked : field.value)) {
          data.append(field.name, field.type === "checkbox" ? "1" : field.value);
        }
      });
      var bar = el("progress");
      bar.max = 100;
      bar.value = 0;
      entry.li.insertBefore(bar, entry.note);
      var percent = el("small", null, "0%");
      var stop = el("button", "secondary outline", "×");
      stop.type = "button";
      stop.title = msg.msgCancel;
      stop.setAttribute("aria-label", msg.msgCancel);
      stop.addEventListener("click", function () { xhr.abort(); });
      entry.side.appendChild(percent);
      entry.side.appendChild(stop);
      entry.note.textContent = msg.msgUploading;

      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var p = Math.floor((e.loaded / e.total) * 100);
        bar.value = p;
        percent.textContent = p + "%";
        if (e.loaded >= e.total) entry.note.textContent = msg.msgChecking;
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        if (body && body.jobs && body.jobs.length) {
          var extra = body.rejected && body.rejected.length
            ? " · " + body.rejected.map(function (r) { return r.filename + ": " + r.error; }).join(" · ")
            : "";
          var count = body.jobs.length > 1 ? " (" + body.jobs.length + ")" : "";
          settle(entry, "done", msg.msgAdded + count + extra);
        } else if (body && body.rejected && body.rejected.length) {
          settle(entry, "rejected", body.rejected.map(function (r) {
            return r.filename === entry.file.name ? r.error : r.filename + ": " + r.error;
          }).join(" · "));
        } else if (body && body.detail) {
          settle(entry, "error", body.detail);
        } else {
          settle(entry, "error", msg.msgFailed + " (HTTP " + xhr.status + ")");
        }
        finished();
      });
      xhr.addEventListener("error", function () { settle(entry, "error", msg.msgFailed); finished(); });
      xhr.addEventListener("abort", function () { settle(entry, "error", msg.msgCancelled); finished(); });
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.send(data);
    }

    input.addEventListener("change", function () {
      add(input.files);
      input.value = "";
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      add(input.files);
      input.value = "";
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) {
        e.preventDefault();
        zone.classList.add("dragover");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) {
        e.preventDefault();
        zone.classList.remove("dragover");
      });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) add(e.dataTransfer.files);
    });
    window.addEventListener("beforeunload", function (e) {
      if (running || waiting.length) {
        e.preventDefault();
        e.returnValue = msg.msgLeave;
        return msg.msgLeave;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-upload]").forEach(init);
  });
})();
