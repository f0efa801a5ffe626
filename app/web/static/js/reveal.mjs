// Shows a radio's follow-up questions only while it is chosen: <input type="radio" data-reveals="ID"> and
// <div class="app-reveal" id="ID">, like GOV.UK's conditional reveal. GOV.UK Frontend's own version puts
// aria-expanded on the radio, which is not allowed there (axe-core: aria-allowed-attr), so this toggles the
// content alone, which follows the radio's group in reading order. Without JavaScript all of it is shown.
const revealing = [...document.querySelectorAll("input[type=radio][data-reveals]")];

function sync(input) {
  const target = document.getElementById(input.dataset.reveals);
  if (target) target.classList.toggle("app-reveal--hidden", !input.checked);
}

for (const input of revealing) {
  sync(input);
  for (const other of document.querySelectorAll(`input[type=radio][name="${CSS.escape(input.name)}"]`)) {
    other.addEventListener("change", () => sync(input));
  }
}
