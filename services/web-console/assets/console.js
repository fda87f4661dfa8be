// Precursor Watch console: follows the live alert feed and refreshes the pipeline panels.
"use strict";

function feedRow(item) {
  const row = document.createElement("tr");
  row.dataset.seq = String(item.seq);
  row.className = "new";
  const cells = [
    item.delivered_at,
    null,
    item.country,
    null,
    item.substances,
    item.route,
    item.reference,
  ];
  cells.forEach((text, index) => {
    const cell = document.createElement("td");
    if (index === 1) {
      const link = document.createElement("a");
      link.className = "alert-link";
      link.href = item.href;
      link.textContent = item.alert_id;
      cell.appendChild(link);
    } else if (index === 3) {
      const badge = document.createElement("span");
      badge.className = "badge severity-" + item.severity.toLowerCase();
      badge.textContent = item.severity.toUpperCase();
      cell.appendChild(badge);
    } else {
      cell.textContent = text;
    }
    row.appendChild(cell);
  });
  return row;
}

function followFeed() {
  const feed = document.getElementById("feed");
  if (!feed) return;
  const body = feed.querySelector("#feed-table tbody");
  const status = document.getElementById("feed-status");
  const source = new EventSource("/events?after=" + encodeURIComponent(feed.dataset.after || "0"));
  source.addEventListener("open", () => {
    status.textContent = "live";
    status.className = "live";
  });
  source.addEventListener("error", () => {
    status.textContent = "reconnecting";
    status.className = "live reconnecting";
  });
  source.addEventListener("alert", (event) => {
    const item = JSON.parse(event.data);
    if (body.querySelector('tr[data-seq="' + item.seq + '"]')) return;
    const empty = document.getElementById("feed-empty");
    if (empty) empty.remove();
    body.insertBefore(feedRow(item), body.firstChild);
    while (body.rows.length > 100) body.deleteRow(body.rows.length - 1);
  });
}

function refreshPanels() {
  const panels = document.getElementById("panels");
  if (!panels) return;
  setInterval(async () => {
    try {
      const response = await fetch("/panels", { credentials: "same-origin" });
      if (response.redirected || response.status === 401) {
        window.location.assign("/login");
        return;
      }
      if (!response.ok) return;
      const template = document.createElement("template");
      template.innerHTML = (await response.text()).trim();
      const fresh = template.content.getElementById("panels");
      const current = document.getElementById("panels");
      if (fresh && current) current.replaceWith(fresh);
    } catch (error) {
      // The console is unreachable for a moment: keep what is shown.
    }
  }, 10000);
}

document.addEventListener("DOMContentLoaded", () => {
  followFeed();
  refreshPanels();
});
