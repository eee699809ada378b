// The activity page: draws each card's chart from the JSON the card carries (no inline script:
// the CSP forbids it), again whenever htmx swaps a card in, and switches the range to "custom"
// when a date is picked.
(function () {
  "use strict";

  const TONES = {
    accent: "#2f5bd3",
    good: "#1d7a46",
    bad: "#b3261e",
    warn: "#c98a00",
    muted: "#8a94a6",
  };
  const FORMATS = {
    count: (value) => value.toLocaleString("en-US"),
    usd: (value) => "$" + value.toLocaleString("en-US", { maximumSignificantDigits: 4 }),
    ms: (value) => (value >= 1000 ? (value / 1000).toFixed(2) + " s" : Math.round(value) + " ms"),
    percent: (value) => (value * 100).toFixed(value < 0.1 ? 1 : 0) + "%",
  };

  function dataset(spec, type, stacked) {
    const color = TONES[spec.tone] || TONES.accent;
    return {
      label: spec.label,
      data: spec.data,
      backgroundColor: type === "line" ? color : color + (stacked ? "cc" : "b3"),
      borderColor: color,
      borderWidth: type === "line" ? 2 : 0,
      // Hours without traffic have no latency: join the points around them.
      pointRadius: type === "line" ? 1.5 : 0,
      pointHitRadius: 6,
      spanGaps: true,
      tension: 0.2,
    };
  }

  function config(spec) {
    const format = FORMATS[spec.unit] || FORMATS.count;
    return {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((d) => dataset(d, spec.type, spec.stacked)),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: {
            stacked: spec.stacked,
            grid: { display: false },
            // Labels such as "Nov 30 14:00" need about 90 px each: on a phone fewer of them fit.
            ticks: { maxTicksLimit: spec.ticks || 8, maxRotation: 0, autoSkip: true, autoSkipPadding: 16 },
          },
          y: { stacked: spec.stacked, beginAtZero: true, ticks: { maxTicksLimit: 5, callback: format } },
        },
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: (item) => item.dataset.label + ": " + (item.raw === null ? "no data" : format(item.raw)),
            },
          },
        },
      },
    };
  }

  function draw(root) {
    if (!window.Chart || !root.querySelectorAll) return;
    root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const source = document.getElementById(canvas.dataset.chart);
      if (!source || window.Chart.getChart(canvas)) return;
      const spec = JSON.parse(source.textContent);
      spec.ticks = Math.max(2, Math.min(8, Math.floor((canvas.parentElement.clientWidth || 640) / 90)));
      new window.Chart(canvas, config(spec));
    });
  }

  // Chart.js sizes a canvas through its style attribute; a page snapshot that kept it would
  // break the CSP when htmx restores it. Charts are drawn again from their JSON instead.
  function forget(root) {
    if (!window.Chart || !root.querySelectorAll) return;
    root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const chart = window.Chart.getChart(canvas);
      if (chart) chart.destroy();
      ["style", "width", "height"].forEach((name) => canvas.removeAttribute(name));
    });
  }

  // A picked date means a custom range; this runs before htmx sends the form's change.
  document.addEventListener(
    "change",
    (event) => {
      if (!event.target.closest("[data-custom-dates]")) return;
      const custom = document.getElementById("range-custom");
      if (custom) custom.checked = true;
    },
    true,
  );

  // A card that could not load says so rather than "Loading…" for ever.
  function failed(event) {
    const card = event.detail.elt;
    if (!card.matches || !card.matches(".activity-card[aria-busy]")) return;
    card.removeAttribute("aria-busy");
    const note = card.querySelector("p");
    if (note) note.textContent = "This card could not be loaded. Reload the page to try again.";
  }

  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:load", (event) => draw(event.detail.elt));
  document.addEventListener("htmx:beforeSwap", (event) => forget(event.detail.target));
  document.addEventListener("htmx:beforeHistorySave", () => forget(document.body));
  document.addEventListener("htmx:historyRestore", () => draw(document.body));
  document.addEventListener("DOMContentLoaded", () => draw(document.body));
})();
