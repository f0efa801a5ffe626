// Opens a pathway diagram in bpmn-js from the JSON block a container names (data-<key>), fitted to its box but
// never so small that its labels cannot be read, with buttons to zoom in, zoom out and fit: what the case page's
// step markers and the bottleneck heatmap both start from. The diagram can be dragged to move around it.
// bpmn-js draws its labels at 11 to 12px: any smaller cannot be read on a 1280 px wide screen.
const READABLE = 1;
const STEP = 1.25;
const MARGIN = 20;

function button(label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "govuk-button govuk-button--secondary app-diagram-controls__button";
  element.textContent = label;
  element.addEventListener("click", onClick);
  return element;
}

function readable(canvas) {
  canvas.zoom("fit-viewport", "auto");
  if (canvas.zoom() >= READABLE) return;
  // Too big to fit and be read: show its start at a readable size; the rest is a drag or "Zoom out" away.
  canvas.zoom(READABLE);
  const { inner, outer } = canvas.viewbox();
  const height = outer.height / READABLE;
  const top = inner.height + 2 * MARGIN < height ? inner.y + inner.height / 2 - height / 2 : inner.y - MARGIN;
  canvas.viewbox({ x: inner.x - MARGIN, y: top, width: outer.width / READABLE, height });
}

function controls(container, canvas) {
  const bar = document.createElement("div");
  bar.className = "govuk-button-group app-diagram-controls";
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Diagram zoom");
  bar.append(
    button("Zoom in", () => canvas.zoom(canvas.zoom() * STEP)),
    button("Zoom out", () => canvas.zoom(canvas.zoom() / STEP)),
    button("Fit the whole diagram", () => canvas.zoom("fit-viewport", "auto")),
    button("Readable size", () => readable(canvas)),
  );
  container.before(bar);
}

export async function openDiagram(container, key) {
  const data = JSON.parse(document.getElementById(container.dataset[key]).textContent);
  const viewer = new window.BpmnJS({ container });
  await viewer.importXML(data.xml);
  const canvas = viewer.get("canvas");
  readable(canvas);
  controls(container, canvas);
  return { data, viewer, canvas, overlays: viewer.get("overlays"), registry: viewer.get("elementRegistry") };
}
