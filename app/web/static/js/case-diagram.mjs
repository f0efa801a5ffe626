// Draws each pathway diagram on the case page with bpmn-js, marking completed, current and overdue steps and
// waiting timers (canvas markers and overlays) and opening a step's task page when it is selected. Without
// JavaScript the page's step list and "What the case waits for" say the same.
import { openDiagram } from "./diagram-viewer.mjs";
const STATES = ["completed", "waiting", "current", "overdue"];

async function draw(container) {
  const { data, viewer, canvas, overlays, registry } = await openDiagram(container, "diagram");
  for (const [elementId, state] of Object.entries(data.states)) {
    if (!registry.get(elementId) || !STATES.includes(state)) continue;
    canvas.addMarker(elementId, `step-${state}`);
    if (data.links[elementId]) canvas.addMarker(elementId, "step-link");
    if (state === "overdue") {
      const badge = document.createElement("span");
      badge.className = "app-diagram__badge app-diagram__badge--overdue";
      const days = data.daysOverdue[elementId] || 0;
      badge.textContent = days > 0 ? `Overdue ${days} day${days === 1 ? "" : "s"}` : "Overdue";
      overlays.add(elementId, { position: { top: -14, left: 0 }, html: badge });
    }
  }
  viewer.get("eventBus").on("element.click", (event) => {
    const taskId = data.links[event.element.id];
    if (taskId) window.location.assign(`${data.taskUrl}${taskId}`);
  });
  container.dataset.ready = "true";
}

for (const container of document.querySelectorAll("[data-diagram]")) {
  draw(container).catch(() => {
    container.textContent = "The diagram could not be drawn. The steps below show where the case is.";
  });
}
