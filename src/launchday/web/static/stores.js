// launchday: the dashboard's stores view. Plain JavaScript, no library. It draws the
// `stores` part of each live event that dashboard.js receives (sent as a "live" DOM event
// on #dash): orders by channel and the stores selling most. Hidden while the brand has
// no stores.
"use strict";

(function () {
  const dash = document.getElementById("dash");
  const view = document.getElementById("stores");
  if (!dash || !view || !window.launchday) return;

  const { numbers, setNumber } = window.launchday;
  const $ = (id) => document.getElementById(id);
  const el = {
    summary: $("stores-summary"),
    channels: $("channels"),
    rows: $("stores-rows"),
  };

  const percent = (part, whole) => (whole ? `${(100 * part / whole).toFixed(part && part < whole / 100 ? 1 : 0)}%` : "–");

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function renderChannels(stores) {
    for (const channel of stores.channels) {
      let item = el.channels.querySelector(`[data-channel="${CSS.escape(channel.channel)}"]`);
      if (!item) {  // a channel the page does not name: shown under its own name
        item = el.channels.firstElementChild.cloneNode(true);
        item.dataset.channel = channel.channel;
        item.querySelector(".channel-name").textContent = channel.channel;
        item.querySelector(".channel-count").dataset.value = "0";
        el.channels.append(item);
      }
      setNumber(item.querySelector(".channel-count"), channel.orders);
      item.querySelector(".channel-share").textContent = percent(channel.orders, stores.orders);
      const bar = item.querySelector(".bar > span");
      bar.style.width = `${stores.orders ? (100 * channel.orders) / stores.orders : 0}%`;
    }
  }

  function renderTop(stores) {
    if (!stores.top.length) {
      const row = document.createElement("tr");
      const td = cell("No store has placed an order or had a test drive done yet.", "muted");
      td.colSpan = 5;
      row.append(td);
      el.rows.replaceChildren(row);
      return;
    }
    const best = Math.max(1, ...stores.top.map((s) => s.orders));
    const rows = stores.top.map((s, i) => {
      const row = document.createElement("tr");
      row.dataset.store = s.store;
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = s.name;
      const orders = cell(numbers.format(s.orders), "n num store-orders");
      orders.style.setProperty("--share", String(s.orders / best));
      row.append(cell(String(i + 1), "n num rank"), th, cell(s.city, "muted"), orders,
        cell(numbers.format(s.test_drives_done), "n num"));
      return row;
    });
    el.rows.replaceChildren(...rows);
  }

  dash.addEventListener("live", (event) => {
    const stores = event.detail.stores;
    const appears = view.hidden && stores;
    view.hidden = !stores;
    // /launches/{slug}#stores: a screen showing this view only, as #production does.
    if (appears && location.hash === "#stores") requestAnimationFrame(() => view.scrollIntoView());
    if (!stores) return;
    const shown = stores.top.length < stores.ranked ? `, the top ${stores.top.length} shown` : "";
    el.summary.textContent =
      `${numbers.format(stores.store_orders)} of ${numbers.format(stores.orders)} orders placed in stores` +
      ` (${percent(stores.store_orders, stores.orders)}) · ${numbers.format(stores.ranked)} stores selling or driving${shown}`;
    renderChannels(stores);
    renderTop(stores);
  });
})();
