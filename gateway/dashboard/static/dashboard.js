// gridmirror dashboard: draws the snapshots /dashboard/events sends (see
// gateway/dashboard/snapshot.py for their fields). Plain DOM and canvas, no libraries.
// Text from the database (meter names, errors) only ever goes in through textContent.
"use strict";

const COLORS = { load: "#3b6fd8", pv: "#e6a413", battery: "#2f9e6e", net: "#b5446e",
  bar: "#3b6fd8", axis: "#6b7385", grid: "#e4e7ec" };
const HISTORY_EVERY_MS = 10_000; // the server reads the history at most every 10 s

function fmt(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits,
    minimumFractionDigits: digits });
}

// Axis labels short enough for the 56 px left of a chart's box (1.2M, 350k, 25).
function compact(value) {
  const a = Math.abs(value);
  if (a >= 1e6) return `${fmt(value / 1e6, a % 1e6 ? 1 : 0)}M`;
  if (a >= 1e4) return `${fmt(value / 1e3, a % 1e3 ? 1 : 0)}k`;
  return fmt(value);
}

function power(watts) {
  if (watts === null || watts === undefined) return "–";
  return Math.abs(watts) >= 1000 ? `${fmt(watts / 1000, 2)} kW` : `${fmt(watts)} W`;
}

function energy(wh) {
  return Math.abs(wh) >= 1000 ? `${fmt(wh / 1000, 3)} kWh` : `${fmt(wh)} Wh`;
}

// Times are shown on the site's clock (gateway.dashboard_utc_offset_hours), named by
// ZONE, which /dashboard/history.json tells; UTC until it has.
let OFFSET_S = 0;
let ZONE = "UTC";

function time(unix) {
  if (unix === null || unix === undefined) return "–";
  return new Date((unix + OFFSET_S) * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function cell(row, text, field, isText) {
  const td = document.createElement("td");
  td.textContent = text;
  if (field) td.dataset.field = field;
  if (isText) td.className = "text";
  row.appendChild(td);
}

function fillTable(id, items, render) {
  const body = document.querySelector(`#${id} tbody`);
  const rows = items.map((item) => {
    const tr = document.createElement("tr");
    render(tr, item);
    return tr;
  });
  body.replaceChildren(...rows);
}

// --- charts ------------------------------------------------------------------------------

function setup(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = "12px system-ui, sans-serif";
  return ctx;
}

function niceRange(min, max) {
  if (min === max) { min -= 1; max += 1; }
  const span = max - min;
  const step = Math.pow(10, Math.floor(Math.log10(span / 4)));
  const unit = [1, 2, 5, 10].map((k) => k * step).find((s) => span / s <= 6);
  return { min: Math.floor(min / unit) * unit, max: Math.ceil(max / unit) * unit, unit };
}

function axes(ctx, box, range) {
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.axis;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let v = range.min; v <= range.max + range.unit / 2; v += range.unit) {
    const y = box.y + box.h - ((v - range.min) / (range.max - range.min)) * box.h;
    ctx.beginPath(); ctx.moveTo(box.x, y); ctx.lineTo(box.x + box.w, y); ctx.stroke();
    ctx.fillText(compact(v), box.x - 4, y);
  }
}

function yOf(box, range, v) {
  return box.y + box.h - ((v - range.min) / (range.max - range.min)) * box.h;
}

// Grouped bars: one group per label, one bar per series (values may be negative).
function barChart(canvas, labels, series) {
  const ctx = setup(canvas);
  const box = { x: 60, y: 10, w: canvas.width - 70, h: canvas.height - 60 };
  const values = series.flatMap((s) => s.values.filter((v) => v !== null));
  if (!labels.length || !values.length) {
    ctx.fillStyle = COLORS.axis;
    ctx.fillText("no data yet", box.x + 10, box.y + 20);
    return;
  }
  const range = niceRange(Math.min(0, ...values), Math.max(0, ...values));
  axes(ctx, box, range);
  const group = box.w / labels.length;
  const bar = Math.max(1, (group * 0.8) / series.length);
  const zero = yOf(box, range, 0);
  labels.forEach((label, i) => {
    series.forEach((s, k) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const y = yOf(box, range, v);
      ctx.fillStyle = s.color;
      ctx.fillRect(box.x + i * group + group * 0.1 + k * bar, Math.min(y, zero), bar - 1,
        Math.max(1, Math.abs(zero - y)));
    });
    ctx.save();
    ctx.fillStyle = COLORS.axis;
    ctx.translate(box.x + i * group + group / 2, box.y + box.h + 6);
    ctx.rotate(-Math.PI / 5);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText(label, 0, 0);
    ctx.restore();
  });
  legend(ctx, canvas, series);
}

function legend(ctx, canvas, series) {
  if (series.length < 2) return;
  let x = canvas.width - 10;
  ctx.textAlign = "right";
  ctx.textBaseline = "top";
  [...series].reverse().forEach((s) => {
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(s.name, x, 2);
    x -= ctx.measureText(s.name).width + 4;
    ctx.fillStyle = s.color;
    ctx.fillRect(x - 10, 3, 10, 10);
    x -= 22;
  });
}

// Lines over time; points: [{t, <key>: value or null}], labels on the site's clock.
function lineChart(canvas, points, series) {
  const ctx = setup(canvas);
  const box = { x: 60, y: 18, w: canvas.width - 70, h: canvas.height - 40 };
  const values = points.flatMap((p) => series.map((s) => p[s.key])).filter((v) => v !== null);
  if (points.length < 2 || !values.length) {
    ctx.fillStyle = COLORS.axis;
    ctx.fillText("no readings in the window yet", box.x + 10, box.y + 20);
    return;
  }
  const range = niceRange(Math.min(0, ...values), Math.max(0, ...values));
  axes(ctx, box, range);
  const t0 = points[0].t, t1 = points[points.length - 1].t;
  const xOf = (t) => box.x + ((t - t0) / Math.max(1, t1 - t0)) * box.w;
  // hour ticks on the site's clock, every 3 h (or every hour for short windows)
  const every = (t1 - t0) > 6 * 3600 ? 3 * 3600 : 3600;
  ctx.fillStyle = COLORS.axis;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let t = Math.ceil((t0 + OFFSET_S) / every) * every - OFFSET_S; t <= t1; t += every) {
    ctx.fillText(time(t).slice(11, 16), xOf(t), box.y + box.h + 4);
  }
  series.forEach((s) => {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let drawing = false;
    points.forEach((p) => {
      const v = p[s.key];
      if (v === null || v === undefined) { drawing = false; return; }
      const x = xOf(p.t), y = yOf(box, range, v);
      if (drawing) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      drawing = true;
    });
    ctx.stroke();
  });
  ctx.lineWidth = 1;
  legend(ctx, canvas, series.map((s) => ({ name: s.name, color: s.color })));
}

// --- the history (fleet power by 15-minute epoch, from the database) ---------------------

function renderHistory(h) {
  OFFSET_S = Math.round(h.utc_offset_hours * 3600);
  ZONE = h.zone;
  document.querySelectorAll(".zone").forEach((el) => { el.textContent = ZONE; });
  // each epoch's means drawn at its middle
  const points = h.epochs.map((e) => ({ t: e.start + 450, import: e.import_w,
    export: e.export_w, pv: e.pv_w, battery: e.battery_w }));
  lineChart(document.getElementById("chart-history"), points, [
    { key: "import", name: "import", color: COLORS.net },
    { key: "export", name: "export", color: COLORS.load },
    { key: "pv", name: "PV", color: COLORS.pv },
    { key: "battery", name: "battery (+ charging)", color: COLORS.battery },
  ]);
  const chart = document.getElementById("chart-history");
  chart.dataset.epochs = String(h.epochs.length);
  chart.dataset.generatedAt = String(h.generated_at);
}

async function pollHistory() {
  try {
    const answer = await fetch("/dashboard/history.json", { cache: "no-store" });
    if (answer.ok) renderHistory(await answer.json());
  } catch (err) {
    // the gateway restarts or is gone: the event stream's badge says so; try again later
  }
  setTimeout(pollHistory, HISTORY_EVERY_MS);
}

// --- one snapshot --------------------------------------------------------------------------

function render(snap) {
  const t = snap.totals;
  document.getElementById("updated").textContent = `updated ${time(snap.generated_at)} ${ZONE}`;
  document.getElementById("updated").dataset.generatedAt = String(snap.generated_at);
  document.getElementById("t-online").textContent = `${t.online} / ${t.meters}`;
  document.getElementById("t-net").textContent = power(t.net_w);
  document.getElementById("t-pv").textContent = power(t.pv_w);
  document.getElementById("t-confirmed").textContent = fmt(t.confirmed);
  document.getElementById("t-pending").textContent = fmt(t.pending);
  document.getElementById("t-minted").textContent = energy(t.minted_wh);
  document.getElementById("t-dead").textContent = fmt(t.dead);

  fillTable("fleet", snap.meters, (tr, m) => {
    tr.dataset.lfdi = m.lfdi;
    tr.className = m.online ? "online" : "offline";
    cell(tr, m.name, "name", true);
    cell(tr, m.role, "role", true);
    cell(tr, m.role_flags, "role_flags", true);
    cell(tr, m.online ? "yes" : "no", "online", true);
    cell(tr, time(m.last_reading), "last_reading", true);
    cell(tr, fmt(m.import_wh), "import_wh");
    cell(tr, fmt(m.export_wh), "export_wh");
    cell(tr, fmt(m.net_w), "net_w");
    cell(tr, fmt(m.load_w), "load_w");
    cell(tr, fmt(m.pv_w), "pv_w");
    cell(tr, fmt(m.battery_w), "battery_w");
    cell(tr, fmt(m.soc_pct, 1), "soc_pct");
    cell(tr, fmt(m.confirmed), "confirmed");
    cell(tr, fmt(m.pending), "pending");
    cell(tr, fmt(m.dead), "dead");
    cell(tr, fmt(m.minted_wh), "minted_wh");
  });
  document.getElementById("fleet-note").textContent = snap.meters_shown < t.meters
    ? `showing ${snap.meters_shown} of ${t.meters} meters (totals count all)` : "";

  fillTable("epochs", [...snap.epochs].reverse(), (tr, e) => {
    cell(tr, String(e.epoch), "epoch", true);
    cell(tr, time(e.start), "start", true);
    cell(tr, fmt(e.settled), "settled");
    cell(tr, fmt(e.minted_wh), "minted_wh");
    cell(tr, Object.entries(e.by_meter).map(([k, v]) => `${k} ${fmt(v)}`).join(", ") || "–",
      "by_meter", true);
  });
  const settled = [...snap.epochs].reverse().flatMap((e) => e.meters.map((s) => ({ ...s, start: e.start })));
  fillTable("settlements", settled, (tr, s) => {
    cell(tr, time(s.start), "start", true);
    cell(tr, s.meter, "meter", true);
    cell(tr, fmt(s.net_export_wh), "net_export_wh");
    cell(tr, fmt(s.minted_wh), "minted_wh");
    cell(tr, fmt(s.withheld_wh), "withheld_wh");
    cell(tr, s.why, "why", true);
  });
  fillTable("dead", snap.dead_letters, (tr, d) => {
    cell(tr, String(d.id), "id", true);
    cell(tr, d.meter, "meter", true);
    cell(tr, time(d.timestamp), "timestamp", true);
    cell(tr, fmt(d.attempts), "attempts");
    cell(tr, d.error || "", "error", true);
  });

  const names = snap.meters.map((m) => m.name);
  barChart(document.getElementById("chart-power"), names, [
    { name: "load", color: COLORS.load, values: snap.meters.map((m) => m.load_w ?? m.net_w) },
    { name: "PV", color: COLORS.pv, values: snap.meters.map((m) => m.pv_w) },
    { name: "battery", color: COLORS.battery, values: snap.meters.map((m) => m.battery_w) },
  ]);
  barChart(document.getElementById("chart-confirmed"), names, [
    { name: "pairs confirmed", color: COLORS.bar, values: snap.meters.map((m) => m.confirmed) },
  ]);
  barChart(document.getElementById("chart-epochs"),
    snap.epochs.map((e) => time(e.start).slice(11, 16)),
    [{ name: "minted", color: COLORS.pv, values: snap.epochs.map((e) => e.minted_wh) }]);

  document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
}

function connect() {
  const badge = document.getElementById("connection");
  const source = new EventSource("/dashboard/events");
  source.addEventListener("snapshot", (event) => {
    badge.textContent = "live";
    badge.className = "badge on";
    render(JSON.parse(event.data));
  });
  source.onerror = () => {
    badge.textContent = "reconnecting";
    badge.className = "badge off";
  };
}

pollHistory();
connect();
