// The bottleneck view: draws a pathway diagram with bpmn-js and colours each step by its median time against its
// target (green, amber, red; grey when a step has no target), as Camunda Optimize's target-value heatmap does.
// A badge on each step gives the ratio in words; hovering shows the figures; selecting a stage opens its diagram
// and selecting a step lists its cases over target. The table under the diagram says the same without it.
import { openDiagram } from "./diagram-viewer.mjs";
const LEVELS = ["green", "amber", "red", "none"];

function days(value) {
  if (value === null || value === undefined) return "no target";
  const text = (Math.round(value * 10) / 10).toFixed(1).replace(/\.0$/, "");
  return `${text} day${text === "1" ? "" : "s"}`;
}

function badgeText(heat) {
  if (heat.ratio === null) return "No target";
  return `${heat.ratio.toFixed(1)}× target`;
}

function tooltip(heat) {
  const box = document.createElement("div");
  box.className = "app-heat-tooltip";
  const lines = [
    [heat.stage ? `Stage: ${heat.title}` : heat.title, "app-heat-tooltip__title"],
    [heat.words, ""],
    [heat.stage && heat.worstStep ? `Slowest step: ${heat.worstStep}` : "", ""],
    [`Target ${days(heat.targetDays)}, median ${days(heat.medianDays)}`, ""],
    [`${heat.overTarget} case${heat.overTarget === 1 ? "" : "s"} over target, of ${heat.count} step${heat.count === 1 ? "" : "s"}`, ""],
    [heat.stage ? "Select to see this stage" : heat.overTarget ? "Select to list the cases" : "", "app-heat-tooltip__hint"],
  ];
  for (const [text, className] of lines) {
    if (!text) continue;
    const line = document.createElement("p");
    line.textContent = text;
    if (className) line.className = className;
    box.append(line);
  }
  return box;
}

function target(data, heat, elementId) {
  if (heat.stage) return `${data.stageUrl}?process=${encodeURIComponent(heat.processId)}`;
  if (!heat.overTarget) return null;
  return data.casesUrl.replace("PROCESS", encodeURIComponent(heat.processId)).replace("ELEMENT", encodeURIComponent(elementId));
}

async function draw(container) {
  const { data, viewer, canvas, overlays, registry } = await openDiagram(container, "heatmap");
  for (const [elementId, heat] of Object.entries(data.heat)) {
    if (!registry.get(elementId) || !LEVELS.includes(heat.level)) continue;
    canvas.addMarker(elementId, `heat-${heat.level}`);
    if (target(data, heat, elementId)) canvas.addMarker(elementId, "step-link");
    const badge = document.createElement("span");
    badge.className = `app-diagram__badge app-heat-badge app-heat-badge--${heat.level}`;
    badge.textContent = badgeText(heat);
    overlays.add(elementId, "heat-badge", { position: { top: -14, left: 0 }, html: badge });
  }
  const events = viewer.get("eventBus");
  events.on("element.hover", (event) => {
    const heat = data.heat[event.element.id];
    overlays.remove({ type: "heat-tooltip" });
    if (heat) overlays.add(event.element.id, "heat-tooltip", { position: { bottom: -8, left: 0 }, html: tooltip(heat) });
  });
  events.on("element.out", () => overlays.remove({ type: "heat-tooltip" }));
  events.on("element.click", (event) => {
    const heat = data.heat[event.element.id];
    const url = heat && target(data, heat, event.element.id);
    if (url) window.location.assign(url);
  });
  container.dataset.ready = "true";
}

for (const container of document.querySelectorAll("[data-heatmap]")) {
  draw(container).catch(() => {
    container.textContent = "The diagram could not be drawn. The table below gives the same figures.";
  });
}
