// A "Print this summary" button: shown only when JavaScript can print (the browser's own Print works anyway).
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
