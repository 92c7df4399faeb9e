// Uploads stream the chosen file(s) to the server's /upload route and hand Dash only the returned tokens,
// so a 100 MB file never travels through callbacks as base64. This file holds what every upload shares
// (window.heartbeatUpload: the request, the drop zone and its hidden file input) and wires the Predict
// page's CSV; upload_record.js wires the Recording page on the same pieces (assets load alphabetically).
(function () {
  "use strict";

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(id, props);
    }
  }

  function prefix() {
    // Honour Dash's requests_pathname_prefix when the app is mounted below "/".
    try {
      const config = JSON.parse(document.getElementById("_dash-config").textContent);
      return config.requests_pathname_prefix || "/";
    } catch (error) {
      return "/";
    }
  }

  function megabytes(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  // One file to /upload; resolves with the server's answer ({token} or {error}), always naming the file.
  function post(file, onProgress) {
    return new Promise(function (resolve) {
      const request = new XMLHttpRequest();
      request.open("POST", prefix() + "upload");
      request.setRequestHeader("Content-Type", "application/octet-stream");
      request.setRequestHeader("X-Filename", encodeURIComponent(file.name));
      // The server refuses uploads without it: a cross-site page cannot send a custom header.
      request.setRequestHeader("X-Requested-With", "dashboard-upload");
      request.upload.onprogress = function (event) {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      };
      request.onload = function () {
        let body;
        try {
          body = JSON.parse(request.responseText);
        } catch (error) {
          body = { error: "The server answered " + request.status + " instead of accepting " + file.name + "; try again." };
        }
        body.filename = body.filename || file.name;
        resolve(body);
      };
      request.onerror = function () {
        resolve({
          error: "The upload of " + file.name + " broke off. The file may be over the server's size limit, or the " +
            "connection dropped; try again.",
          filename: file.name,
        });
      };
      request.send(file);
    });
  }

  // The sentence for a file the server would refuse anyway (empty, or over the zone's data-max-bytes), or "".
  function refusal(file, zone) {
    const limit = Number(zone && zone.dataset.maxBytes);
    if (limit && file.size > limit) {
      return file.name + " is " + megabytes(file.size) + "; the limit is " + megabytes(limit) +
        ". Upload a smaller file, or ask whoever runs the dashboard to raise UPLOAD_MAX_MB.";
    }
    if (file.size === 0) {
      // The server refuses empty bodies too; saying it here spares the console a 400.
      return file.name + ": " + ((zone && zone.dataset.emptyMessage) || "The file is empty; choose it again.");
    }
    return "";
  }

  // Dash's html components have no <input type="file">, so each page's file input lives outside React's
  // tree, at the end of <body>; its drop zone is a <label for=inputId>. onFiles gets the chosen or dropped files.
  function dropZone(options) {
    function addFileInput() {
      if (document.getElementById(options.inputId)) return;
      const input = document.createElement("input");
      input.type = "file";
      input.id = options.inputId;
      input.accept = options.accept;
      input.multiple = Boolean(options.multiple);
      input.className = "visually-hidden";
      input.tabIndex = -1; // reached through its zone's label, not as an invisible stop at the end of the page
      input.setAttribute("aria-label", options.label);
      document.body.appendChild(input);
    }
    if (document.body) addFileInput();
    else document.addEventListener("DOMContentLoaded", addFileInput);

    document.addEventListener("change", function (event) {
      const input = event.target;
      if (input && input.id === options.inputId && input.files && input.files.length) {
        options.onFiles(Array.from(input.files));
        input.value = ""; // choosing the same file again must upload it again
      }
    });

    function inZone(event) {
      return event.target && event.target.closest && event.target.closest("#" + options.zoneId);
    }
    ["dragenter", "dragover"].forEach(function (type) {
      document.addEventListener(type, function (event) {
        const zone = inZone(event);
        if (zone) {
          event.preventDefault();
          zone.classList.add("dragging");
        }
      });
    });
    document.addEventListener("dragleave", function (event) {
      const zone = inZone(event);
      if (zone) zone.classList.remove("dragging");
    });
    document.addEventListener("drop", function (event) {
      const zone = inZone(event);
      if (zone) {
        event.preventDefault();
        zone.classList.remove("dragging");
        if (event.dataTransfer.files.length) options.onFiles(Array.from(event.dataTransfer.files));
      }
    });
  }

  window.heartbeatUpload = { setProps: setProps, post: post, refusal: refusal, dropZone: dropZone };

  // ---- the Predict page: one CSV of beat rows
  function finish(result) {
    setProps("upload-progress", { className: "mt-2 d-none", value: 0 });
    setProps("upload-status", { children: "" });
    result.nonce = Date.now();
    setProps("upload-result", { data: result });
  }

  async function send(file) {
    const refused = refusal(file, document.getElementById("upload-zone"));
    if (refused) {
      finish({ error: refused, filename: file.name });
      return;
    }
    setProps("upload-status", { children: "Uploading " + file.name + "…" });
    finish(await post(file, function (loaded, total) {
      const percent = Math.round((100 * loaded) / total);
      setProps("upload-progress", { className: "mt-2", value: percent });
      setProps("upload-status", { children: "Uploading " + file.name + ": " + percent + "%" });
    }));
  }

  dropZone({
    zoneId: "upload-zone", inputId: "upload-input", accept: ".csv,text/csv,text/plain",
    label: "CSV file of beats to classify", onFiles: function (files) { send(files[0]); },
  });
})();
