// launchday: the dashboard's production view. Plain JavaScript and SVG, no library.
// It draws the `production` part of each live event that dashboard.js receives (sent as
// a "live" DOM event on #dash) and stays hidden while the launch has no production plan.
"use strict";

(function () {
  const dash = document.getElementById("dash");
  const view = document.getElementById("production");
  if (!dash || !view || !window.launchday) return;

  const { numbers, node, niceAxis, compact, shortTime, duration, timeStep } = window.launchday;
  const $ = (id) => document.getElementById(id);
  const el = {
    summary: $("production-summary"),
    backlog: $("backlog-chart"),
    quotes: $("quotes"),
    lead: $("lead-chart"),
    riskNote: $("risk-note"),
    riskCaption: $("risk-caption"),
    riskRows: $("risk-rows"),
  };
  // One colour per variant, in the launch's order, the same in every chart of the view.
  const PALETTE = ["#ff6a13", "#62c8ff", "#33e08a", "#ffb020", "#b18cff", "#ff8591"];
  const CAPACITY = "#f6f7fb";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  let last = null;

  // "2025-11-24" -> "24 Nov": the plan's weeks are dates, not moments.
  function day(iso) {
    const [, m, d] = iso.split("-").map(Number);
    return `${d} ${MONTHS[m - 1]}`;
  }

  function dayWithYear(iso) {
    return `${day(iso)} ${iso.slice(0, 4)}`;
  }

  function signedTime(seconds) {
    return seconds < 0 ? `−${shortTime(-seconds)}` : shortTime(seconds);
  }

  function colours(data) {
    const map = new Map();
    data.variants.forEach((v, i) => map.set(v.sku, PALETTE[i % PALETTE.length]));
    return map;
  }

  function names(data) {
    return new Map(data.variants.map((v) => [v.sku, v.name]));
  }

  function sizeOf(svg) {
    const width = svg.clientWidth;
    const height = svg.clientHeight;
    if (!width || !height) return null;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren();
    return { width, height, em: parseFloat(getComputedStyle(svg).fontSize) || 12 };
  }

  // A legend that wraps onto more rows when the chart is narrow; returns its height.
  function legend(svg, items, x0, width, em) {
    const g = node("g", {});
    svg.append(g);  // in the document, so that each label can be measured
    let x = 0;
    let row = 0;
    for (const item of items) {
      const label = node("text", { class: "legend" }, item.text);
      g.append(label);
      const w = 1.7 * em + label.getComputedTextLength() + 1.3 * em;
      if (x > 0 && x + w > width) {
        x = 0;
        row += 1;
      }
      const y = (row + 1) * 1.45 * em;
      label.setAttribute("x", x0 + x + 1.7 * em);
      label.setAttribute("y", y - 0.15 * em);
      if (item.line) {
        g.append(node("line", { x1: x0 + x, x2: x0 + x + 1.2 * em, y1: y - 0.45 * em, y2: y - 0.45 * em, stroke: item.colour, "stroke-width": 2 }));
      } else {
        g.append(node("rect", { x: x0 + x, y: y - 0.8 * em, width: 1.2 * em, height: 0.7 * em, rx: 0.15 * em, fill: item.colour }));
      }
      x += w;
    }
    return (row + 1) * 1.45 * em + 0.9 * em;
  }

  // --- the backlog: stacked bars per build week, the capacity as a step over them ---------

  function drawBacklog(data) {
    const svg = el.backlog;
    const size = sizeOf(svg);
    if (!size) return;
    const { width, height, em } = size;
    const b = data.production.backlog;
    const colour = colours(data);
    const name = names(data);
    const weeks = b.capacity.length;
    const left = 3.6 * em;
    const right = 0.8 * em;
    const bottom = 2.2 * em;
    const plotW = width - left - right;
    const items = b.skus.map((sku) => ({ text: name.get(sku) || sku, colour: colour.get(sku) }));
    items.push({ text: "line capacity", colour: CAPACITY, line: true });
    const top = legend(svg, items, left, plotW, em);
    const plotH = height - top - bottom;
    if (plotH < 2 * em) return;

    const totals = b.capacity.map((_, k) => b.skus.reduce((sum, _s, v) => sum + b.orders[v][k], 0));
    const later = b.later.reduce((a, n) => a + n, 0);
    const axis = niceAxis(Math.max(1, ...totals, ...b.capacity) * 1.08);
    const y = (v) => top + (1 - Math.min(v, axis.top) / axis.top) * plotH;
    // The weeks, a gap, then one slot for everything later.
    const slot = plotW / (weeks + 1.7);
    const barW = Math.max(1, slot * 0.72);
    const xOf = (k) => left + k * slot + (slot - barW) / 2;
    const laterX = left + (weeks + 0.7) * slot + (slot - barW) / 2;

    for (let v = 0; v <= axis.top + 1e-9; v += axis.step) {
      const gy = y(v);
      svg.append(node("line", { x1: left, x2: left + plotW, y1: gy, y2: gy, stroke: "#1d2333", "stroke-width": 1 }));
      svg.append(node("text", { x: left - 0.6 * em, y: gy + 0.35 * em, "text-anchor": "end" }, compact(v)));
    }

    // Bars, each week's variants stacked in the launch's order; a tooltip says the figures.
    const stack = (x, counts, label) => {
      const g = node("g", {});
      let base = 0;
      counts.forEach((n, v) => {
        if (!n) return;
        const y0 = y(base);
        const y1 = y(base + n);
        g.append(node("rect", { x, y: y1, width: barW, height: Math.max(0, y0 - y1), fill: colour.get(b.skus[v]), class: "bar-part" }));
        base += n;
      });
      const parts = counts.map((n, v) => `${name.get(b.skus[v]) || b.skus[v]} ${numbers.format(n)}`);
      g.append(node("title", {}, `${label}: ${numbers.format(base)} cars (${parts.join(", ")})`));
      svg.append(g);
    };
    for (let k = 0; k < weeks; k++) {
      const counts = b.skus.map((_, v) => b.orders[v][k]);
      stack(xOf(k), counts, `Week of ${day(b.week_starts[k])}, capacity ${numbers.format(b.capacity[k])}`);
    }
    if (later) {
      stack(laterX, b.later, "Later");
      if (later > axis.top) {  // cut at the top: say so, and how many
        const cy = top + 0.5 * em;
        svg.append(node("path", { d: `M${laterX - 2},${cy + 3} L${laterX + barW + 2},${cy - 3}`, stroke: "#05060a", "stroke-width": 3 }));
      }
      svg.append(node("text", { x: laterX + barW / 2, y: Math.max(top + em, y(later) - 0.4 * em), "text-anchor": "middle", class: "bar-label" }, compact(later)));
    }

    // The capacity, as a step: flat across each week's slot.
    let path = "";
    b.capacity.forEach((c, k) => {
      const x0 = left + k * slot;
      path += `${k ? " L" : "M"}${x0.toFixed(1)},${y(c).toFixed(1)} L${(x0 + slot).toFixed(1)},${y(c).toFixed(1)}`;
    });
    svg.append(node("path", { d: path, fill: "none", stroke: CAPACITY, "stroke-width": 2, "stroke-linejoin": "round", opacity: 0.9 }));

    // Dates under the weeks, as many as fit, and "later".
    const every = Math.max(1, Math.ceil((4.2 * em) / slot));
    for (let k = 0; k < weeks; k += every) {
      const tx = xOf(k) + barW / 2;
      if (tx + 4.4 * em > laterX + barW / 2) break;  // room for "later" under its bar
      svg.append(node("line", { x1: tx, x2: tx, y1: top + plotH, y2: top + plotH + 0.35 * em, stroke: "#2a3244" }));
      svg.append(node("text", { x: tx, y: height - 0.45 * em, "text-anchor": "middle" }, k === 0 ? "this wk" : day(b.week_starts[k])));
    }
    svg.append(node("text", { x: laterX + barW / 2, y: height - 0.45 * em, "text-anchor": "middle" }, "later"));

    if (!b.queued) {
      svg.append(node("text", { x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle", class: "axis-title" }, "NO CARS IN THE BUILD QUEUE YET"));
    }

    const busiest = totals.indexOf(Math.max(...totals));
    const lastWeek = totals.reduce((found, n, k) => (n ? k : found), -1);
    svg.setAttribute("aria-label",
      `Queued cars by build week against line capacity: ${numbers.format(b.queued)} cars, ` +
      (lastWeek < 0 ? "none in the next " : `built over ${lastWeek + 1} of the next `) + `${weeks} weeks` +
      (b.queued && totals[busiest] ? `, at most ${numbers.format(totals[busiest])} in the week of ${day(b.week_starts[busiest])}` : "") +
      `; ${numbers.format(later)} later. Capacity ${numbers.format(b.capacity[0])} cars this week, ` +
      `${numbers.format(Math.max(...b.capacity))} at most.`);
  }

  // --- the quoted lead time over the launch: one step line per variant ---------------------

  function drawLead(data) {
    const svg = el.lead;
    const size = sizeOf(svg);
    if (!size) return;
    const { width, height, em } = size;
    const lead = data.production.lead_times;
    const colour = colours(data);
    const times = lead.elapsed_seconds;
    const left = 3 * em;
    const right = 4.2 * em;
    const top = 2.2 * em;
    const bottom = 2.2 * em;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    if (!times.length || plotH < 2 * em) return;

    // Each quote stands until the next sample, the newest until now.
    const t0 = times[0];
    const now = Math.max(times[times.length - 1], data.elapsed_seconds);
    const t1 = Math.max(now, t0 + 10);
    const values = lead.weeks.flat().filter((w) => w != null);
    const axis = niceAxis(Math.max(4, ...values) * 1.15);
    const x = (t) => left + ((t - t0) / (t1 - t0)) * plotW;
    const y = (w) => top + (1 - w / axis.top) * plotH;

    for (let v = 0; v <= axis.top + 1e-9; v += axis.step) {
      const gy = y(v);
      svg.append(node("line", { x1: left, x2: left + plotW, y1: gy, y2: gy, stroke: "#1d2333", "stroke-width": 1 }));
      svg.append(node("text", { x: left - 0.6 * em, y: gy + 0.35 * em, "text-anchor": "end" }, `${compact(v)}`));
    }
    svg.append(node("text", { x: left - 0.6 * em, y: top - 0.7 * em, "text-anchor": "start", class: "legend" }, "weeks from ordering to delivery, earliest"));
    const step = timeStep(t1 - t0);
    for (let t = Math.ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) {
      const tx = x(t);
      svg.append(node("line", { x1: tx, x2: tx, y1: top + plotH, y2: top + plotH + 0.35 * em, stroke: "#2a3244" }));
      svg.append(node("text", { x: tx, y: height - 0.45 * em, "text-anchor": "middle" }, signedTime(t)));
    }

    // Each variant's quote holds until the next sample: steps, broken where there was none.
    const ends = [];
    // Variants quoted alike would hide one another: each line a little apart.
    const apart = (v) => (v - (lead.skus.length - 1) / 2) * 2.5;
    lead.skus.forEach((sku, v) => {
      const weeks = lead.weeks[v];
      let d = "";
      let open = false;
      let lastPoint = null;
      weeks.forEach((w, i) => {
        if (w == null) {
          open = false;
          return;
        }
        const px = x(times[i]).toFixed(1);
        const py = (y(w) + apart(v)).toFixed(1);
        d += open ? ` H${px} V${py}` : ` M${px},${py}`;
        open = true;
        lastPoint = [x(times[i]), y(w) + apart(v), w];
      });
      if (!lastPoint) return;
      if (open) {
        d += ` H${x(now).toFixed(1)}`;
        lastPoint[0] = x(now);
      }
      svg.append(node("path", { d: d.trim(), fill: "none", stroke: colour.get(sku), "stroke-width": 2.2, "stroke-linejoin": "round" }));
      svg.append(node("circle", { cx: lastPoint[0], cy: lastPoint[1], r: 0.32 * em, fill: colour.get(sku), stroke: "#05060a", "stroke-width": 1.5 }));
      ends.push({ sku, x: lastPoint[0], y: lastPoint[1], w: lastPoint[2] });
    });
    // The current weeks at the right, pushed apart where variants are quoted alike.
    ends.sort((a, b) => a.y - b.y);
    let floor = -Infinity;
    for (const end of ends) {
      const ly = Math.max(end.y + 0.35 * em, floor + 1.15 * em);
      floor = ly;
      const label = node("text", { x: left + plotW + 0.6 * em, y: ly, class: "end-label" }, `${end.w} wk`);
      label.style.fill = colour.get(end.sku);  // over the stylesheet's grey for chart text
      svg.append(label);
    }

    const name = names(data);
    const said = data.production.quotes.map((q) =>
      `${name.get(q.sku) || q.sku} ${q.weeks ? `${q.weeks[0]} to ${q.weeks[1]} weeks` : "beyond the plan"}`);
    svg.setAttribute("aria-label",
      `Earliest delivery week quoted to a new order, from ${signedTime(t0)} to ${signedTime(now)} after opening. Now: ${said.join("; ")}.`);
  }

  function renderQuotes(data) {
    const colour = colours(data);
    const name = names(data);
    const items = data.production.quotes.map((q) => {
      const li = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.setAttribute("aria-hidden", "true");
      swatch.style.background = colour.get(q.sku);
      const label = document.createElement("span");
      label.className = "quote-name";
      label.textContent = name.get(q.sku) || q.sku;
      const weeks = document.createElement("span");
      weeks.className = "quote-weeks num";
      weeks.textContent = q.weeks ? `${q.weeks[0]}–${q.weeks[1]} wk` : "beyond plan";
      const from = document.createElement("span");
      from.className = "quote-from muted";
      from.textContent = q.first_day ? `from ${dayWithYear(q.first_day)}` : "no car in the plan";
      li.append(swatch, label, weeks, from);
      return li;
    });
    el.quotes.replaceChildren(...items);
  }

  // --- the supply risk table ------------------------------------------------------------

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function renderRisk(data) {
    const risk = data.production.risk;
    if (!risk) {
      el.riskNote.textContent = "Ranking suppliers…";
      el.riskRows.replaceChildren();
      return;
    }
    const opens = Date.parse(data.opens_at);
    const asOf = (Date.parse(risk.as_of) - opens) / 1000;
    const weeks = `${risk.outage_weeks} week${risk.outage_weeks === 1 ? "" : "s"}`;
    const shown = risk.suppliers.length < risk.ranked ? ` Top ${risk.suppliers.length} of ${risk.ranked}.` : "";
    el.riskNote.textContent = `If one supplier delivered nothing for ${weeks} from now: the delay over all queued orders.${shown} As of T${asOf < 0 ? "−" : "+"}${duration(asOf)}.`;
    el.riskCaption.textContent = `Suppliers by the buyer-weeks of delay losing one for ${weeks} would cause`;
    if (!risk.suppliers.length) {
      const row = document.createElement("tr");
      const td = cell("The plan names no suppliers.", "muted");
      td.colSpan = 5;
      row.append(td);
      el.riskRows.replaceChildren(row);
      return;
    }
    const rows = risk.suppliers.map((r) => {
      const row = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = r.supplier;
      const delayed = numbers.format(r.orders_delayed) + (r.never_built ? ` (+${numbers.format(r.never_built)} unbuilt)` : "");
      const sole = document.createElement("td");
      if (r.sole_source_of.length) {
        const badge = document.createElement("span");
        badge.className = "badge badge-sole";
        badge.textContent = "Sole";
        const of = document.createElement("span");
        of.className = "sole-of";
        of.textContent = ` ${r.sole_source_of.join(", ")}`;
        sole.append(badge, of);
      } else {
        sole.textContent = "–";
        sole.className = "muted";
      }
      row.classList.toggle("is-costly", r.buyer_weeks > 0);
      row.append(th, cell(r.components.join(", ")), cell(numbers.format(r.buyer_weeks), "n num bw"), cell(delayed, "n num"), sole);
      return row;
    });
    el.riskRows.replaceChildren(...rows);
  }

  // --- putting it together --------------------------------------------------------------

  function summary(data) {
    const b = data.production.backlog;
    const later = b.later.reduce((a, n) => a + n, 0);
    const parts = [
      `${numbers.format(b.queued)} cars in the build queue`,
      `capacity ${numbers.format(b.capacity[0])} this week`,
    ];
    if (later) parts.push(`${numbers.format(later)} due after ${b.capacity.length} weeks`);
    return parts.join(" · ");
  }

  function draw() {
    if (!last || !last.production) return;
    drawBacklog(last);
    drawLead(last);
  }

  dash.addEventListener("live", (event) => {
    const data = event.detail;
    const appears = view.hidden && data.production;
    view.hidden = !data.production;
    // /launches/{slug}#production: a second wall screen showing this view only. The
    // browser looked for the anchor while the view was still hidden.
    if (appears && location.hash === "#production") requestAnimationFrame(() => view.scrollIntoView());
    if (!data.production) {
      last = null;
      return;
    }
    last = data;
    el.summary.textContent = summary(data);
    renderQuotes(data);
    renderRisk(data);
    draw();
  });

  if (window.ResizeObserver) {
    const observer = new ResizeObserver(draw);
    observer.observe(el.backlog);
    observer.observe(el.lead);
  }
})();
