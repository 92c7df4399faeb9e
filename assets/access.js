// Keyboard and screen-reader access that the components do not give on their own.
(function () {
  "use strict";

  // The upload zones (Predict, Recording): each label is a focusable button, and Enter or Space on it
  // opens the file dialog of the input it is for, as a click does (the input itself is hidden, see upload.js).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    const label = event.target && event.target.closest && event.target.closest("label.upload-label[role=button]");
    if (!label) return;
    event.preventDefault(); // Space would scroll the page
    const input = document.getElementById(label.htmlFor);
    if (input) input.click();
  });

  // Dash's DataTable takes Tab, Enter and the arrow keys, pressed anywhere inside it, as moves between its cells
  // and cancels them: the focus could not leave its row checkboxes or its pager by Tab (a keyboard trap), and
  // Enter did not press a pager button. On those controls the keys are left to the browser (Enter in the
  // page-number box still goes to the table, which turns the page).
  const TABLE_KEYS = ["Tab", "Enter", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"];
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (!TABLE_KEYS.includes(event.key) || !target.closest || !target.closest(".dash-table-container")) return;
    const control = target.matches("td.dash-select-cell input, .previous-next-container button");
    const pageBox = target.matches(".previous-next-container input");
    if (control || (pageBox && event.key !== "Enter")) event.stopPropagation();
  }, true);

  // Dash's DataTable gives its row checkboxes and its icon-only pager buttons no names.
  const PAGER = {
    "first-page": "First page", "previous-page": "Previous page",
    "next-page": "Next page", "last-page": "Last page",
  };

  function name(root) {
    root.querySelectorAll(".dash-table-container tr").forEach(function (tr) {
      const box = tr.querySelector("td.dash-select-cell input");
      const first = tr.querySelector("td.dash-cell");
      if (box && first) {
        const label = "Tick row " + first.textContent.trim();
        if (box.getAttribute("aria-label") !== label) box.setAttribute("aria-label", label);
      }
    });
    root.querySelectorAll(".previous-next-container button").forEach(function (button) {
      Object.keys(PAGER).forEach(function (cls) {
        if (button.classList.contains(cls) && !button.getAttribute("aria-label")) {
          button.setAttribute("aria-label", PAGER[cls]);
          button.setAttribute("title", PAGER[cls]);
        }
      });
    });
  }

  function watch() {
    name(document);
    new MutationObserver(function () { name(document); })
      .observe(document.body, { childList: true, subtree: true, characterData: true });
  }
  if (document.body) watch();
  else document.addEventListener("DOMContentLoaded", watch);
})();
