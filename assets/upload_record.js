// The Recording page's uploads: every file chosen or dropped together (a WFDB .hea, .dat and .atr, or
// one .zip, .edf or .csv) goes to /upload through upload.js's pieces, one request and one token per
// file; Dash then gets only the list of tokens and the server reads them together as one recording.
(function () {
  "use strict";

  const upload = window.heartbeatUpload;
  const setProps = upload.setProps;

  function fail(error) {
    setProps("record-upload-status", { children: "" });
    setProps("record-files", { data: { error: error, nonce: Date.now() } });
  }

  async function sendAll(files) {
    const zone = document.getElementById("record-zone");
    for (const file of files) {
      const refused = upload.refusal(file, zone);
      if (refused) {
        fail(refused);
        return;
      }
    }
    const total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    const names = files.map(function (f) { return f.name; }).join(", ");
    let done = 0;
    const uploaded = [];
    setProps("record-upload-status", { children: "Uploading " + names + "…" });
    for (const file of files) {
      const body = await upload.post(file, function (loaded) {
        const percent = Math.round((100 * (done + loaded)) / Math.max(total, 1));
        setProps("record-upload-status", { children: "Uploading " + names + ": " + percent + "%" });
      });
      done += file.size;
      if (body.error) {
        fail(body.error);
        return;
      }
      uploaded.push({ token: body.token, filename: body.filename });
    }
    setProps("record-upload-status", { children: "" });
    setProps("record-files", { data: { files: uploaded, nonce: Date.now() } });
  }

  upload.dropZone({
    zoneId: "record-zone", inputId: "record-input", accept: ".hea,.dat,.atr,.zip,.edf,.csv,.txt",
    multiple: true, label: "ECG recording files", onFiles: sendAll,
  });
})();
