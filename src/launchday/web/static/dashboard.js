// launchday: the live launch dashboard. Plain JavaScript, no build step, no library.
// One EventSource (/launches/{slug}/live) brings a JSON snapshot every second; this
// file only draws it (production.js and stores.js draw their views from the same events).
// EventSource reconnects by itself after a network blip.
"use strict";

(function () {
  const dash = document.getElementById("dash");
  if (!dash) return;

  const SVG = "http://www.w3.org/2000/svg";
  const numbers = new Intl.NumberFormat("en-US");
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const $ = (id) => document.getElementById(id);

  const el = {
    status: $("status"),
    clockLabel: $("clock-label"),
    elapsed: $("elapsed"),
    conn: $("conn"),
    counter: $("counter"),
    ordersLabel: $("orders-label"),
    placed: $("placed"),
    placedBox: $("placed-box"),
    live: $("live"),
    cancelled: $("cancelled"),
    interest: $("interest"),
    rate: $("rate"),
    peak: $("peak"),
    peakAt: $("peak-at"),
    curve: $("curve"),
    rateLabel: $("rate-label"),
    variants: $("variants"),
    queue: $("queue"),
    queueWaiting: $("queue-waiting"),
    queueBar: $("queue-bar"),
    queueAdmitted: $("queue-admitted"),
    queueJoined: $("queue-joined"),
    queueRate: $("queue-rate"),
    queuePaused: $("queue-paused"),
    queueRejoined: $("queue-rejoined"),
    queueRejoinedKept: $("queue-rejoined-kept"),
    queueRejoinedBack: $("queue-rejoined-back"),
    mix: $("mix"),
  };

  const percent = (x) => (x == null ? "–" : `${Math.round(x * 100)}%`);
  const pad2 = (n) => String(n).padStart(2, "0");

  function duration(seconds) {
    const s = Math.floor(Math.abs(seconds));
    const days = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const text = `${h}:${pad2(m)}:${pad2(s % 60)}`;
    return days ? `${days}d ${text}` : text;
  }

  function shortTime(seconds) {
    const s = Math.round(seconds);
    if (s < 3600) return `${Math.floor(s / 60)}:${pad2(s % 60)}`;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return s % 3600 === 0 ? `${h}h` : `${h}:${pad2(m)}h`;
  }

  // 7.5, 2.5k, 12.5k, 1.2M: axis labels short enough for a phone.
  function compact(n) {
    if (n >= 1e6) return `${Number((n / 1e6).toFixed(n >= 1e8 ? 0 : 1))}M`;
    if (n >= 1e3) return `${Number((n / 1e3).toFixed(n >= 1e5 ? 0 : 1))}k`;
    return String(Number(n.toFixed(1)));
  }

  // --- numbers that count up ------------------------------------------------------------

  const running = new Map();
  let frame = 0;

  function show(node, value) {
    node.dataset.shown = String(value);
    const text = numbers.format(value);
    if (node.textContent !== text) node.textContent = text;
    // Numbers marked `fit` size themselves to their box by how many characters they have.
    if (node.classList.contains("fit")) node.style.setProperty("--chars", String(Math.max(5, text.length)));
  }

  function setNumber(node, target) {
    if (!node) return;
    const from = Number(node.dataset.shown ?? node.dataset.value ?? 0);
    node.dataset.value = String(target);
    if (from === target) {
      if (!running.has(node)) show(node, target);
      return;
    }
    if (reduceMotion || document.hidden) {
      running.delete(node);
      show(node, target);
      return;
    }
    running.set(node, { from, to: target, start: performance.now(), ms: 850 });
    if (!frame) frame = requestAnimationFrame(step);
  }

  function step(now) {
    frame = 0;
    for (const [node, a] of running) {
      const t = Math.min(1, (now - a.start) / a.ms);
      const eased = 1 - Math.pow(1 - t, 3);
      show(node, Math.round(a.from + (a.to - a.from) * eased));
      if (t >= 1) running.delete(node);
    }
    if (running.size) frame = requestAnimationFrame(step);
  }

  // --- the clock, smooth between events ------------------------------------------------------

  let clockBase = null; // {elapsed, at, scale, opened}

  function tickClock() {
    if (!clockBase) return;
    const realSeconds = (performance.now() - clockBase.at) / 1000;
    let elapsed = clockBase.elapsed + realSeconds * (clockBase.elapsed >= 0 ? clockBase.scale : 1);
    if (clockBase.elapsed < 0 && elapsed > 0) elapsed = 0;
    const open = elapsed >= 0;
    el.clockLabel.textContent = open ? "T+" : "T−";
    el.elapsed.textContent = duration(elapsed);
  }
  setInterval(tickClock, 250);

  // --- the curve ---------------------------------------------------------------------------

  let lastEvent = null;

  // An axis from 0 in four or five round steps (1, 2, 2.5 or 5 times a power of ten).
  function niceAxis(value) {
    const raw = Math.max(value, 4) / 4;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const stepped = Math.max(1, step);
    return { step: stepped, top: Math.ceil(value / stepped) * stepped || 4 * stepped };
  }

  function niceCeiling(value) {
    if (value <= 0) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
      if (m * power >= value) return m * power;
    }
    return 10 * power;
  }

  function timeStep(spanSeconds) {
    const steps = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    for (const s of steps) if (spanSeconds / s <= 6) return s;
    return 86400 * Math.ceil(spanSeconds / 86400 / 6);
  }

  function node(name, attrs, text) {
    const n = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text != null) n.textContent = text;
    return n;
  }

  // Largest value per pixel column: peaks stay visible when there are more seconds than pixels.
  function downsample(values, columns) {
    if (values.length <= columns * 2) return values.map((v, i) => [i, v]);
    const out = [];
    const per = values.length / columns;
    for (let c = 0; c < columns; c++) {
      const from = Math.floor(c * per);
      const to = Math.min(values.length, Math.floor((c + 1) * per));
      let best = from;
      for (let i = from; i < to; i++) if (values[i] > values[best]) best = i;
      out.push([best, values[best]]);
    }
    return out;
  }

  function drawCurve(data) {
    const svg = el.curve;
    const width = svg.clientWidth;
    const height = svg.clientHeight;
    if (!width || !height) return;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren();

    const stepSeconds = data.series.step_seconds;
    const orders = data.series.orders;
    const unit = stepSeconds === 1 ? "/s" : stepSeconds === 60 ? "/min" : "/h";
    // Margins in the chart's font size, so labels fit on a phone and on a 4K wall alike.
    const em = parseFloat(getComputedStyle(svg).fontSize) || 12;
    const left = 4.5 * em;
    const right = 6 * em;
    const top = 2.6 * em;
    const bottom = 2.2 * em;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const spanSteps = Math.max(orders.length - 1, stepSeconds === 1 ? 60 : 10);
    const axis = niceAxis(Math.max(0, ...orders) * 1.05);
    const maxValue = axis.top;
    const x = (i) => left + (i / spanSteps) * plotW;
    const y = (v) => top + (1 - v / maxValue) * plotH;

    const defs = node("defs", {});
    const gradient = node("linearGradient", { id: "area-fill", x1: 0, y1: 0, x2: 0, y2: 1 });
    gradient.append(
      node("stop", { offset: "0", "stop-color": "#ff6a13", "stop-opacity": "0.55" }),
      node("stop", { offset: "1", "stop-color": "#ff6a13", "stop-opacity": "0.02" }),
    );
    defs.append(gradient);
    svg.append(defs);

    // Grid and the left axis (orders per step).
    for (let v = 0; v <= maxValue + 1e-9; v += axis.step) {
      const gy = y(v);
      svg.append(node("line", { x1: left, x2: left + plotW, y1: gy, y2: gy, stroke: "#1d2333", "stroke-width": 1 }));
      svg.append(node("text", { x: left - 0.7 * em, y: gy + 0.35 * em, "text-anchor": "end" }, compact(v)));
    }
    const legend = node("g", { transform: `translate(${left}, ${1.2 * em})` });
    const key = (x, color, text) => {
      legend.append(node("rect", { x, y: -0.65 * em, width: 1.2 * em, height: 0.35 * em, rx: 0.17 * em, fill: color }));
      legend.append(node("text", { x: x + 1.7 * em, y: -0.25 * em, class: "legend" }, text));
    };
    key(0, "#ff6a13", `orders ${unit}`);
    key(9 * em, "#62c8ff", "total orders");

    // Time axis.
    const spanSeconds = spanSteps * stepSeconds;
    const tick = timeStep(spanSeconds);
    for (let t = 0; t <= spanSeconds + 1e-9; t += tick) {
      const tx = x(t / stepSeconds);
      svg.append(node("line", { x1: tx, x2: tx, y1: top + plotH, y2: top + plotH + 0.35 * em, stroke: "#2a3244" }));
      svg.append(node("text", { x: tx, y: height - 0.45 * em, "text-anchor": "middle" }, t === 0 ? "0:00" : shortTime(t)));
    }

    if (!orders.length) {
      svg.append(node("text", { x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle", class: "axis-title" },
        data.opened ? "WAITING FOR THE FIRST ORDER" : "ORDERS OPEN SOON"));
      return;
    }

    // The cumulative total, on its own scale (right axis): how the big counter got there.
    let running = 0;
    const cumulative = orders.map((v) => (running += v));
    const total = Math.max(1, running);
    const cumTop = niceCeiling(total * 1.04);
    const yc = (v) => top + (1 - v / cumTop) * plotH;
    const columns = Math.max(1, Math.floor(plotW));
    const line = downsample(cumulative, columns).map(([i, v]) => `${x(i).toFixed(1)},${yc(v).toFixed(1)}`);
    svg.append(node("polyline", { points: line.join(" "), fill: "none", stroke: "#62c8ff", "stroke-width": 2, "stroke-opacity": 0.9 }));
    for (const k of [2, 4]) {
      const v = (cumTop * k) / 4;
      svg.append(node("text", { x: left + plotW + 0.7 * em, y: yc(v) + 0.35 * em, "text-anchor": "start", fill: "#3f6f8c" }, compact(v)));
    }

    svg.append(legend);

    // Orders per step: a filled area with a bright edge.
    const points = downsample(orders, columns);
    let path = `M${x(points[0][0]).toFixed(1)},${y(0).toFixed(1)}`;
    let edge = "";
    for (const [i, v] of points) {
      const px = x(i).toFixed(1);
      const py = y(v).toFixed(1);
      path += ` L${px},${py}`;
      edge += `${edge ? " L" : "M"}${px},${py}`;
    }
    const lastIndex = points[points.length - 1][0];
    path += ` L${x(lastIndex).toFixed(1)},${y(0).toFixed(1)} Z`;
    svg.append(node("path", { d: path, fill: "url(#area-fill)" }));
    svg.append(node("path", { d: edge, fill: "none", stroke: "#ff6a13", "stroke-width": 2, "stroke-linejoin": "round" }));

    // The peak, and where the curve is now.
    if (data.rate.peak_after_seconds != null && stepSeconds === 1 && data.rate.peak > 0) {
      const px = x(data.rate.peak_after_seconds);
      const py = y(data.rate.peak);
      svg.append(node("circle", { cx: px, cy: py, r: 0.35 * em, fill: "#ff6a13", stroke: "#05060a", "stroke-width": 2 }));
      const anchor = px > left + plotW * 0.75 ? "end" : "start";
      svg.append(node("text", { x: px + (anchor === "start" ? 0.7 : -0.7) * em, y: Math.max(top + em, py - 0.6 * em), "text-anchor": anchor, class: "peak-label" },
        `peak ${numbers.format(data.rate.peak)}/s`));
    }
    const ex = x(lastIndex);
    const ey = yc(cumulative[cumulative.length - 1]);
    svg.append(node("circle", { cx: ex, cy: ey, r: 0.42 * em, fill: "#62c8ff", stroke: "#05060a", "stroke-width": 2 }));
    svg.append(node("text", { x: ex + 0.7 * em, y: Math.max(top + em, ey - 0.8 * em), "text-anchor": "start", class: "total-label" },
      compact(total)));
  }

  if (window.ResizeObserver) {
    new ResizeObserver(() => lastEvent && drawCurve(lastEvent)).observe(el.curve);
  }

  // --- everything else ---------------------------------------------------------------------

  function setWidth(bar, fraction) {
    if (bar) bar.style.width = `${Math.max(0, Math.min(1, fraction || 0)) * 100}%`;
  }

  function render(data) {
    lastEvent = data;
    el.status.textContent = data.opened ? "Live" : "Opens soon";
    el.status.classList.toggle("pill-live", data.opened);
    el.status.classList.toggle("pill-soon", !data.opened);
    clockBase = { elapsed: data.elapsed_seconds, at: performance.now(), scale: data.time_scale };
    tickClock();

    // With payments the big counter is the orders paid; the orders placed beside it.
    const paying = data.orders.paid !== null && data.orders.paid !== undefined;
    setNumber(el.counter, paying ? data.orders.paid : data.orders.placed);
    el.ordersLabel.textContent = paying ? "Paid orders" : "Orders";
    el.placedBox.hidden = !paying;
    setNumber(el.placed, data.orders.placed);
    setNumber(el.live, data.orders.live);
    setNumber(el.cancelled, data.orders.cancelled);
    setNumber(el.interest, data.interest);

    const perMinute = data.series.step_seconds !== 1;
    el.rateLabel.textContent = "Orders per second";
    setNumber(el.rate, data.rate.now);
    el.peak.textContent = numbers.format(data.rate.peak);
    el.peakAt.textContent = data.rate.peak_after_seconds == null ? "\u00a0" : `at T+${shortTime(data.rate.peak_after_seconds)}`;
    el.curve.setAttribute("aria-label", perMinute ? "Orders per minute since opening" : "Orders per second since opening");

    const total = data.orders.placed;
    for (const v of data.variants) {
      const card = el.variants.querySelector(`[data-sku="${CSS.escape(v.sku)}"]`);
      if (!card) continue;
      setNumber(card.querySelector('[data-field="placed"]'), v.placed);
      card.querySelector('[data-field="live"]').textContent = numbers.format(v.live);
      card.querySelector('[data-field="cancelled"]').textContent = numbers.format(v.cancelled);
      card.classList.toggle("is-sold-out", v.sold_out);
      if (v.stock != null) {
        const left = card.querySelector('[data-field="left"]');
        if (left) left.textContent = numbers.format(v.available ?? 0);
        setWidth(card.querySelector('[data-field="bar"]'), v.stock ? v.live / v.stock : 1);
      } else {
        const share = total ? v.placed / total : 0;
        const shareNode = card.querySelector('[data-field="share"]');
        if (shareNode) shareNode.textContent = total ? percent(share) : "–";
        setWidth(card.querySelector('[data-field="bar"]'), share);
      }
    }

    const q = data.queue;
    el.queue.hidden = !q;
    if (q) {
      setNumber(el.queueWaiting, q.waiting);
      el.queueAdmitted.textContent = numbers.format(q.admitted);
      el.queueJoined.textContent = numbers.format(q.joined);
      el.queueRate.textContent = numbers.format(Math.round(q.rate_per_second));
      el.queuePaused.hidden = !q.paused;
      el.queueRejoined.hidden = !(q.rejoined_kept_place + q.rejoined_back);
      el.queueRejoinedKept.textContent = numbers.format(q.rejoined_kept_place);
      el.queueRejoinedBack.textContent = numbers.format(q.rejoined_back);
      setWidth(el.queueBar, q.joined ? q.admitted / q.joined : 0);
    }

    for (const item of el.mix.querySelectorAll("[data-mix]")) {
      const value = data.composition[item.dataset.mix];
      item.querySelector(".mix-value").textContent = percent(value);
      setWidth(item.querySelector(".bar > span"), value ?? 0);
    }

    drawCurve(data);
    dash.dispatchEvent(new CustomEvent("live", { detail: data }));
  }

  // The production and stores views (production.js, stores.js) draw with the same
  // helpers, from the same events.
  window.launchday = Object.freeze({ numbers, node, niceAxis, compact, shortTime, duration, timeStep, setNumber });

  // --- the stream ----------------------------------------------------------------------------

  let lastMessage = 0;

  function setConnection(state, text) {
    el.conn.dataset.state = state;
    el.conn.textContent = text;
  }

  const source = new EventSource(dash.dataset.live);
  source.onopen = () => setConnection("live", "connected");
  source.onerror = () => setConnection("reconnecting", "reconnecting");
  source.onmessage = (message) => {
    lastMessage = performance.now();
    setConnection("live", "connected");
    render(JSON.parse(message.data));
  };
  // A connection that stays open but goes quiet (a proxy holding the stream) says so.
  setInterval(() => {
    if (lastMessage && performance.now() - lastMessage > 5000 && el.conn.dataset.state === "live") {
      setConnection("stale", "no update for 5 s");
    }
  }, 1000);
})();
