// Keyboard access to the Predict page's upload zone: its label is a focusable button, and Enter or
// Space on it opens the file dialog, as a click does (the file input itself is hidden, see upload.js).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    const label = event.target && event.target.closest && event.target.closest("#upload-label");
    if (!label) return;
    event.preventDefault(); // Space would scroll the page
    const input = document.getElementById("upload-input");
    if (input) input.click();
  });
})();
