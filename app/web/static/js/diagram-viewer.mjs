// Opens a pathway diagram in bpmn-js from the JSON block a container names (data-<key>), fitted to its box:
// what the case page's step markers and the bottleneck heatmap both start from.
export async function openDiagram(container, key) {
  const data = JSON.parse(document.getElementById(container.dataset[key]).textContent);
  const viewer = new window.BpmnJS({ container });
  await viewer.importXML(data.xml);
  const canvas = viewer.get("canvas");
  canvas.zoom("fit-viewport", "auto");
  return { data, viewer, canvas, overlays: viewer.get("overlays"), registry: viewer.get("elementRegistry") };
}
