/* mlpc dashboard page: follows /events (server-sent events), keeps every
 * run's points, and redraws the uPlot figures at most twice a second.
 * Events (JSON in each message's data):
 *   {"type":"hello", "session"}                       sent first on every connection
 *   {"type":"run", "id", "name", "source", "live", "regress", "status"[, "reset":1]}
 *     (reset: the run starts over, e.g. a search trial run again; its points go)
 *   {"type":"batch", "run", "x", "loss", "acc", "lr", "samples_per_second", "w_rms", "g_rms"}
 *   {"type":"epoch", "run", "x", "loss", "acc", "val_loss", "val_acc", "mse", "val_mse",
 *    "lr", "samples_per_second", "epoch_seconds", "w_rms", "g_rms", ...}
 * The server replays everything on each connection, so the page clears its
 * data on "hello" and rebuilds it; it reconnects by itself. */
"use strict";
(function () {
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const DASHES = [[], [8, 5], [2, 4], [10, 4, 2, 4]];
  const VAL_DASH = [7, 5];
  const REDRAW_MS = 500;
  const HEIGHT = 230;

  const state = {
    runs: new Map(),       /* id -> run */
    hidden: new Set(),     /* names of runs the user unticked (kept across reconnects) */
    logLoss: false,
    batchPts: true,
    dirty: true,
    listDirty: true,
  };

  /* ------------------------------------------------------------ data */

  function newRun(ev) {
    return {
      id: ev.id, name: ev.name, source: ev.source, live: !!ev.live,
      regress: !!ev.regress, status: ev.status,
      color: PALETTE[(ev.id - 1) % PALETTE.length],
      /* every point in arrival order (within-epoch and epoch ends) */
      t: { x: [], loss: [], acc: [], lr: [], sps: [], w: [], g: [] },
      /* epoch ends only */
      e: { x: [], loss: [], acc: [], val_loss: [], val_acc: [], mse: [], val_mse: [],
           lr: [], sps: [], secs: [], w: [], g: [] },
      nLayers: 0, last: null,
    };
  }

  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }

  function onEvent(ev) {
    if (ev.type === "hello") {
      state.runs.clear();
      state.dirty = state.listDirty = true;
      return;
    }
    if (ev.type === "run") {
      const r = state.runs.get(ev.id);
      if (ev.reset) {
        state.runs.set(ev.id, newRun(ev));
        state.dirty = true;
      } else if (r) {
        r.status = ev.status; r.name = ev.name; r.regress = !!ev.regress;
      } else {
        state.runs.set(ev.id, newRun(ev));
      }
      state.listDirty = true;
      return;
    }
    const r = state.runs.get(ev.run);
    if (!r || typeof ev.x !== "number") return;
    const w = Array.isArray(ev.w_rms) ? ev.w_rms.map(num) : null;
    const g = Array.isArray(ev.g_rms) ? ev.g_rms.map(num) : null;
    if (w && w.length > r.nLayers) r.nLayers = w.length;
    const t = r.t;
    t.x.push(ev.x); t.loss.push(num(ev.loss)); t.acc.push(num(ev.acc)); t.lr.push(num(ev.lr));
    t.sps.push(num(ev.samples_per_second)); t.w.push(w); t.g.push(g);
    if (ev.type === "epoch") {
      const e = r.e;
      e.x.push(ev.x); e.loss.push(num(ev.loss)); e.acc.push(num(ev.acc));
      e.val_loss.push(num(ev.val_loss)); e.val_acc.push(num(ev.val_acc));
      e.mse.push(num(ev.mse)); e.val_mse.push(num(ev.val_mse)); e.lr.push(num(ev.lr));
      e.sps.push(num(ev.samples_per_second)); e.secs.push(num(ev.epoch_seconds));
      e.w.push(w); e.g.push(g);
      if (num(ev.mse) !== null) r.regress = true;
      r.last = ev;
      state.listDirty = true;
    }
    state.dirty = true;
  }

  /* ------------------------------------------------------------ figures */

  function shownRuns() {
    return [...state.runs.values()].filter((r) => !state.hidden.has(r.name));
  }

  /* sorted copy of (x, y) without nulls; uPlot.join wants ascending x */
  function table(xs, ys, positive) {
    const X = [], Y = [];
    let last = -Infinity;
    for (let i = 0; i < xs.length; i++) {
      const y = ys[i];
      if (y === null || y === undefined || (positive && !(y > 0))) continue;
      if (xs[i] <= last) continue; /* keeps x strictly ascending */
      last = xs[i];
      X.push(xs[i]); Y.push(y);
    }
    return [X, Y];
  }

  function layerCol(rows, l) { return rows.map((v) => (v && l < v.length ? v[l] : null)); }

  /* Each figure: a title and, per shown run, its lines. */
  const FIGS = [
    { key: "loss", title: () => "Loss" + (state.logLoss ? " (log scale)" : ""),
      log: () => state.logLoss,
      lines: (r) => [
        { label: r.name, color: r.color, dash: [], data: pick(r, "loss", "loss") },
        { label: r.name + " val", color: r.color, dash: VAL_DASH, data: [r.e.x, r.e.val_loss] },
      ] },
    { key: "acc", title: () => (anyClassifier() ? "Accuracy" : "Mean squared error"),
      lines: (r) => anyClassifier()
        ? (r.regress ? [] : [
            { label: r.name, color: r.color, dash: [], data: pick(r, "acc", "acc") },
            { label: r.name + " val", color: r.color, dash: VAL_DASH, data: [r.e.x, r.e.val_acc] }])
        : [
            { label: r.name, color: r.color, dash: [], data: [r.e.x, r.e.mse] },
            { label: r.name + " val", color: r.color, dash: VAL_DASH, data: [r.e.x, r.e.val_mse] }] },
    { key: "lr", title: () => "Learning rate",
      lines: (r) => [{ label: r.name, color: r.color, dash: [], data: pick(r, "lr", "lr") }] },
    { key: "sps", title: () => "Throughput (samples/s)",
      lines: (r) => [{ label: r.name, color: r.color, dash: [], data: pick(r, "sps", "sps") }] },
    { key: "secs", title: () => "Epoch time (s)",
      lines: (r) => [{ label: r.name, color: r.color, dash: [], data: [r.e.x, r.e.secs] }] },
    { key: "wrms", title: () => "Weight RMS per layer",
      lines: (r, i) => layers(r, i, "w") },
    { key: "grms", title: () => "Gradient RMS per layer (log scale)", log: () => true,
      lines: (r, i) => layers(r, i, "g") },
  ];

  function pick(r, tkey, ekey) {
    return state.batchPts ? [r.t.x, r.t[tkey]] : [r.e.x, r.e[ekey]];
  }

  function layers(r, i, which) {
    const src = state.batchPts ? r.t : r.e;
    const out = [];
    for (let l = 0; l < r.nLayers; l++) {
      out.push({ label: r.name + " L" + (l + 1), color: PALETTE[l % PALETTE.length],
                 dash: DASHES[i % DASHES.length], data: [src.x, layerCol(src[which], l)] });
    }
    return out;
  }

  function anyClassifier() {
    const rs = shownRuns();
    return rs.length === 0 || rs.some((r) => !r.regress);
  }

  const charts = new Map(); /* key -> {div, u, sig} */

  function chartWidth(div) { return Math.max(300, div.clientWidth - 16); }

  function fmtTick(v) {
    if (v === null || v === undefined) return "";
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
    return String(+v.toPrecision(4));
  }

  function makeChart(fig, div, lines, log, data) {
    const opts = {
      width: chartWidth(div), height: HEIGHT, title: fig.title(),
      scales: { x: { time: false }, y: { distr: log ? 3 : 1, log: 10 } },
      axes: [
        { label: "epoch", labelSize: 16, size: 36 },
        { size: 62, values: (u, vals) => vals.map(fmtTick) },
      ],
      series: [{ label: "epoch", value: (u, v) => (v === null ? "" : (+v.toFixed(3)).toString()) }]
        .concat(lines.map((s) => ({
          label: s.label, stroke: s.color, width: 1.6, dash: s.dash, spanGaps: true,
          points: { show: false }, value: (u, v) => (v === null ? "-" : fmtTick(v)),
        }))),
      /* with many lines the run list on the left is the legend */
      legend: { show: lines.length <= 6, live: true },
      cursor: { drag: { x: true, y: false } },
    };
    div.textContent = "";
    return new uPlot(opts, data, div);
  }

  function render() {
    if (state.listDirty) renderList();
    if (!state.dirty || document.hidden) return;
    state.dirty = false;
    const container = document.getElementById("charts");
    const rs = shownRuns();
    for (const fig of FIGS) {
      let c = charts.get(fig.key);
      if (!c) {
        const div = document.createElement("div");
        div.className = "chart";
        div.id = "chart-" + fig.key;
        container.appendChild(div);
        c = { div, u: null, sig: "" };
        charts.set(fig.key, c);
      }
      const log = fig.log ? fig.log() : false;
      let lines = [];
      rs.forEach((r, i) => { lines = lines.concat(fig.lines(r, i)); });
      if (log) lines.forEach((s) => { s.positive = true; });
      let points = 0;
      lines.forEach((s) => { points += table(s.data[0], s.data[1], s.positive)[0].length; });
      c.div.dataset.points = String(points);
      const sig = fig.title() + "|" + log + "|" + lines.map((s) => s.label + s.color + s.dash).join(",");
      if (lines.length === 0 || points === 0) {
        if (c.u) { c.u.destroy(); c.u = null; }
        c.sig = "";
        c.div.innerHTML = "";
        const t = document.createElement("div");
        t.className = "u-title";
        t.textContent = fig.title();
        const e = document.createElement("div");
        e.className = "empty";
        const anyRunning = rs.some((r) => r.status === "running");
        e.textContent = !state.runs.size ? "waiting for a run"
          : anyRunning ? "no values yet" : "not recorded for these runs";
        c.div.appendChild(t); c.div.appendChild(e);
        continue;
      }
      const data = uPlot.join(lines.map((s) => table(s.data[0], s.data[1], s.positive)));
      if (!c.u || c.sig !== sig) {
        if (c.u) c.u.destroy();
        c.u = makeChart(fig, c.div, lines, log, data);
        c.sig = sig;
      } else {
        c.u.setData(data);
      }
    }
  }

  /* ------------------------------------------------------------ run list */

  function fmt(v, d) { return v === null || v === undefined ? "-" : (+v).toFixed(d); }

  function renderList() {
    state.listDirty = false;
    const ul = document.getElementById("runs");
    ul.textContent = "";
    document.getElementById("nruns").textContent = state.runs.size ? "(" + state.runs.size + ")" : "";
    for (const r of state.runs.values()) {
      const li = document.createElement("li");
      const cb = document.createElement("input");
      cb.type = "checkbox";
      cb.checked = !state.hidden.has(r.name);
      cb.addEventListener("change", () => {
        if (cb.checked) state.hidden.delete(r.name); else state.hidden.add(r.name);
        state.dirty = true;
      });
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = r.color;
      const box = document.createElement("div");
      const nm = document.createElement("span");
      nm.className = "name";
      nm.textContent = r.name;
      nm.title = (r.live ? "live run" : r.source) + " - click to show only this run";
      nm.addEventListener("click", () => {
        state.hidden = new Set([...state.runs.values()].filter((o) => o !== r).map((o) => o.name));
        state.dirty = state.listDirty = true;
      });
      const st = document.createElement("span");
      st.className = "st " + r.status;
      st.textContent = r.status;
      const meta = document.createElement("div");
      meta.className = "meta";
      const l = r.last;
      if (l) {
        meta.textContent = "epoch " + l.epoch + "  loss " + fmt(l.loss, 4) +
          (r.regress ? "  val_mse " + fmt(l.val_mse, 4) : "  val_acc " + fmt(l.val_acc, 4));
      } else {
        meta.textContent = r.live ? "first epoch running" : "no epochs";
      }
      box.appendChild(nm); box.appendChild(st); box.appendChild(meta);
      li.appendChild(cb); li.appendChild(sw); li.appendChild(box);
      ul.appendChild(li);
    }
  }

  /* ------------------------------------------------------------ connection */

  function setConn(cls, text) {
    const el = document.getElementById("conn");
    el.className = "conn " + cls;
    el.textContent = text;
  }

  let es = null;
  function connect() {
    const tok = new URLSearchParams(location.search).get("token");
    es = new EventSource("events" + (tok ? "?token=" + encodeURIComponent(tok) : ""));
    es.onopen = () => setConn("live", "live");
    es.onmessage = (m) => {
      try { onEvent(JSON.parse(m.data)); } catch (err) { /* a malformed event: skip it */ }
    };
    es.onerror = () => {
      setConn("down", "disconnected, retrying");
      if (es.readyState === EventSource.CLOSED) { /* the browser gave up: try again ourselves */
        es.close();
        setTimeout(connect, 1500);
      }
    };
  }

  /* ------------------------------------------------------------ controls */

  document.getElementById("logloss").addEventListener("change", (e) => {
    state.logLoss = e.target.checked; state.dirty = true;
  });
  document.getElementById("batchpts").addEventListener("change", (e) => {
    state.batchPts = e.target.checked; state.dirty = true;
  });
  document.getElementById("all").addEventListener("click", () => {
    state.hidden.clear(); state.dirty = state.listDirty = true;
  });
  document.getElementById("none").addEventListener("click", () => {
    state.runs.forEach((r) => state.hidden.add(r.name)); state.dirty = state.listDirty = true;
  });
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      charts.forEach((c) => { if (c.u) c.u.setSize({ width: chartWidth(c.div), height: HEIGHT }); });
    }, 150);
  });
  document.addEventListener("visibilitychange", () => { state.dirty = true; });

  setInterval(render, REDRAW_MS);
  render();
  connect();
})();
