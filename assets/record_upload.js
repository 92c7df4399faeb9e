// The Recording page's uploads: every file chosen or dropped together (a WFDB .hea, .dat and .atr, or
// one .zip, .edf or .csv) goes to the same streamed /upload route as the Predict page's CSV, one
// request and one token per file; Dash then gets only the list of tokens and the server reads them
// together as one recording.
(function () {
  "use strict";

  const ACCEPT = ".hea,.dat,.atr,.zip,.edf,.csv,.txt";

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(id, props);
    }
  }

  function prefix() {
    try {
      const config = JSON.parse(document.getElementById("_dash-config").textContent);
      return config.requests_pathname_prefix || "/";
    } catch (error) {
      return "/";
    }
  }

  function post(file, onProgress) {
    return new Promise(function (resolve) {
      const request = new XMLHttpRequest();
      request.open("POST", prefix() + "upload");
      request.setRequestHeader("Content-Type", "application/octet-stream");
      request.setRequestHeader("X-Filename", encodeURIComponent(file.name));
      request.setRequestHeader("X-Requested-With", "dashboard-upload"); // the route refuses requests without it
      request.upload.onprogress = function (event) {
        if (event.lengthComputable) onProgress(event.loaded);
      };
      request.onload = function () {
        let body;
        try {
          body = JSON.parse(request.responseText);
        } catch (error) {
          body = { error: "The server answered " + request.status + " instead of accepting " + file.name + "; try again." };
        }
        body.filename = file.name;
        resolve(body);
      };
      request.onerror = function () {
        resolve({ error: "The upload of " + file.name + " broke off (over the size limit, or the connection " +
          "dropped); try again.", filename: file.name });
      };
      request.send(file);
    });
  }

  async function sendAll(files) {
    const zone = document.getElementById("record-zone");
    const limit = Number(zone && zone.dataset.maxBytes);
    const total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    const names = files.map(function (f) { return f.name; }).join(", ");
    for (const file of files) {
      if (file.size === 0) {
        setProps("record-files", { data: { error: file.name + " is empty: choose the recording's files again.",
          nonce: Date.now() } });
        return;
      }
      if (limit && file.size > limit) {
        setProps("record-files", { data: { error: file.name + " is " + (file.size / 1048576).toFixed(1) +
          " MB; the limit is " + (limit / 1048576).toFixed(0) + " MB a file.", nonce: Date.now() } });
        return;
      }
    }
    let done = 0;
    const uploaded = [];
    setProps("record-upload-status", { children: "Uploading " + names + "…" });
    for (const file of files) {
      const body = await post(file, function (loaded) {
        const percent = Math.round((100 * (done + loaded)) / Math.max(total, 1));
        setProps("record-upload-status", { children: "Uploading " + names + ": " + percent + "%" });
      });
      done += file.size;
      if (body.error) {
        setProps("record-upload-status", { children: "" });
        setProps("record-files", { data: { error: body.error, nonce: Date.now() } });
        return;
      }
      uploaded.push({ token: body.token, filename: body.filename });
    }
    setProps("record-upload-status", { children: "" });
    setProps("record-files", { data: { files: uploaded, nonce: Date.now() } });
  }

  // As on the Predict page, the file input lives outside React's tree; #record-zone is a <label for> it.
  function addFileInput() {
    if (document.getElementById("record-input")) return;
    const input = document.createElement("input");
    input.type = "file";
    input.multiple = true;
    input.id = "record-input";
    input.accept = ACCEPT;
    input.className = "visually-hidden";
    input.setAttribute("aria-label", "ECG recording files");
    document.body.appendChild(input);
  }
  if (document.body) addFileInput();
  else document.addEventListener("DOMContentLoaded", addFileInput);

  document.addEventListener("change", function (event) {
    const input = event.target;
    if (input && input.id === "record-input" && input.files && input.files.length) {
      sendAll(Array.from(input.files));
      input.value = "";
    }
  });

  function inZone(event) {
    return event.target && event.target.closest && event.target.closest("#record-zone");
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
      if (event.dataTransfer.files.length) sendAll(Array.from(event.dataTransfer.files));
    }
  });
})();
