// Builds the web app's front-end into app/web/static/build/ from node_modules: our Sass over GOV.UK
// Frontend, and the few vendor files the pages load (GOV.UK Frontend JS and images, the bpmn-js viewer,
// Chart.js for the oversight charts).
// Run by `make setup` (npm run build) and by the Dockerfile's asset stage; nothing is loaded from a CDN.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const out = join(root, "app", "web", "static", "build");
const modules = join(root, "node_modules");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const css = sass.compile(join(root, "app", "web", "assets", "app.scss"), {
  style: "compressed",
  importers: [new sass.NodePackageImporter(root)],
  quietDeps: true,
});
writeFileSync(join(out, "app.css"), css.css);

const copies = {
  "govuk-frontend/dist/govuk/govuk-frontend.min.js": "govuk-frontend.min.js",
  "govuk-frontend/dist/govuk/assets/images": "govuk/images",
  "bpmn-js/dist/bpmn-navigated-viewer.production.min.js": "bpmn-navigated-viewer.production.min.js",
  "bpmn-js/dist/assets/diagram-js.css": "diagram-js.css",
  "bpmn-js/dist/assets/bpmn-js.css": "bpmn-js.css",
  // The UMD build sets window.Chart; the oversight pages load it as a plain script (no inline code, no CDN).
  "chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
};
for (const [from, to] of Object.entries(copies)) {
  mkdirSync(dirname(join(out, to)), { recursive: true });
  cpSync(join(modules, from), join(out, to), { recursive: true });
}
console.log(`front-end built into ${out}`);
