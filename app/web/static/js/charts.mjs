// Draws the oversight charts with Chart.js (its UMD build, loaded before this module, sets window.Chart).
// Each <canvas data-chart="ID"> reads its figures from <script type="application/json" id="ID">, so no
// inline script is needed under the Content-Security-Policy. Every chart has a table of the same figures
// beside it; without JavaScript the tables are all there is.
const FONT = { family: "arial, sans-serif", size: 14 };
const TEXT = "#0b0c0c";

function options(data) {
  const stacked = data.kind === "stacked-bar";
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false, // no motion: figures appear at once, for people who find movement distracting
    indexAxis: stacked ? "y" : "x",
    plugins: {
      legend: { display: data.series.length > 1, position: "bottom", labels: { color: TEXT, font: FONT } },
      tooltip: { titleFont: FONT, bodyFont: FONT },
    },
    scales: {
      x: {
        stacked,
        beginAtZero: true,
        ticks: { color: TEXT, font: FONT, precision: 0 },
        title: { display: stacked, text: data.axis, color: TEXT, font: FONT },
      },
      y: {
        stacked,
        beginAtZero: true,
        ticks: { color: TEXT, font: FONT, precision: 0 },
        title: { display: !stacked, text: data.axis, color: TEXT, font: FONT },
      },
    },
  };
}

function draw(canvas) {
  const data = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
  const line = data.kind === "line";
  const chart = new window.Chart(canvas, {
    type: line ? "line" : "bar",
    data: {
      labels: data.labels,
      datasets: data.series.map((series) => ({
        label: series.label,
        data: series.data,
        backgroundColor: series.colour,
        borderColor: series.colour,
        borderWidth: line ? 3 : 0,
        pointRadius: line ? 4 : undefined,
        pointStyle: line ? "rectRot" : undefined,
      })),
    },
    options: options(data),
  });
  canvas.dataset.ready = "true";
  return chart;
}

if (window.Chart) {
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    try {
      draw(canvas);
    } catch {
      canvas.closest(".app-chart").textContent = "The chart could not be drawn. The table gives the same figures.";
    }
  }
}
