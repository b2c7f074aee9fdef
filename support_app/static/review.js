// Conversation review: show conversation times in the reader's local time (no inline script: CSP).
"use strict";
document.querySelectorAll(".when[data-time]").forEach(function (node) {
  var seconds = Number(node.getAttribute("data-time"));
  if (isFinite(seconds)) {
    node.textContent = new Date(seconds * 1000).toLocaleString();
  }
});
