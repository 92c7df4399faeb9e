// Streams the chosen CSV to the server's /upload route and hands Dash only the
// returned token, so a 100 MB file never travels through callbacks as base64.
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

  function finish(result) {
    setProps("upload-progress", { className: "mt-2 d-none", value: 0 });
    setProps("upload-status", { children: "" });
    result.nonce = Date.now();
    setProps("upload-result", { data: result });
  }

  function send(file) {
    const zone = document.getElementById("upload-zone");
    const limit = Number(zone && zone.dataset.maxBytes);
    if (limit && file.size > limit) {
      finish({
        error: file.name + " is " + megabytes(file.size) + "; the limit is " + megabytes(limit) +
          ". Upload a smaller file (split it by rows), or ask whoever runs the dashboard to raise UPLOAD_MAX_MB.",
        filename: file.name,
      });
      return;
    }
    if (file.size === 0) {
      // The server refuses empty bodies too; saying it here spares the console a 400.
      finish({ error: file.name + ": " + (zone ? zone.dataset.emptyMessage : "The file is empty."), filename: file.name });
      return;
    }
    const request = new XMLHttpRequest();
    request.open("POST", prefix() + "upload");
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    // The server refuses uploads without it: a cross-site page cannot send a custom header.
    request.setRequestHeader("X-Requested-With", "dashboard-upload");
    request.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        const percent = Math.round((100 * event.loaded) / event.total);
        setProps("upload-progress", { className: "mt-2", value: percent });
        setProps("upload-status", { children: "Uploading " + file.name + ": " + percent + "%" });
      }
    };
    request.onload = function () {
      let body;
      try {
        body = JSON.parse(request.responseText);
      } catch (error) {
        body = { error: "The server answered " + request.status + " instead of accepting the file; try again." };
      }
      body.filename = body.filename || file.name;
      finish(body);
    };
    request.onerror = function () {
      finish({
        error: "The upload of " + file.name + " broke off. The file may be over the server's size limit, or the " +
          "connection dropped; try again.",
        filename: file.name,
      });
    };
    setProps("upload-status", { children: "Uploading " + file.name + "…" });
    request.send(file);
  }

  // Dash's html components have no <input type="file">, so the one file input lives outside React's
  // tree, at the end of <body>; the drop zone on the Predict page is a <label for="upload-input">.
  function addFileInput() {
    if (document.getElementById("upload-input")) return;
    const input = document.createElement("input");
    input.type = "file";
    input.id = "upload-input";
    input.accept = ".csv,text/csv,text/plain";
    input.className = "visually-hidden";
    input.setAttribute("aria-label", "CSV file of beats to classify");
    document.body.appendChild(input);
  }
  if (document.body) addFileInput();
  else document.addEventListener("DOMContentLoaded", addFileInput);

  document.addEventListener("change", function (event) {
    const input = event.target;
    if (input && input.id === "upload-input" && input.files && input.files.length) {
      send(input.files[0]);
      input.value = ""; // choosing the same file again must upload it again
    }
  });

  function inZone(event) {
    return event.target && event.target.closest && event.target.closest("#upload-zone");
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
      if (event.dataTransfer.files.length) send(event.dataTransfer.files[0]);
    }
  });
})();
