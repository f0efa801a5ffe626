// Starts GOV.UK Frontend's components (error summary focus, notification banners, service navigation), and labels
// the cells of tables that become cards on small screens.
import { initAll } from "../build/govuk-frontend.min.js";

initAll();

// On a phone each row of an `app-table--cards` table is drawn as a card (app.scss); each cell then shows its
// column's header as its label, copied here from the table's head so that templates need not repeat it.
for (const table of document.querySelectorAll("table.app-table--cards")) {
  // A header only screen readers hear (an "Action" column, say) labels nothing on the card.
  const headers = [...table.querySelectorAll("thead th")].map((th) => {
    const shown = th.cloneNode(true);
    shown.querySelectorAll(".govuk-visually-hidden").forEach((hidden) => hidden.remove());
    return shown.textContent.trim();
  });
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, index) => {
      if (headers[index]) cell.dataset.label = headers[index];
    });
  }
}
