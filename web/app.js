/* mlpc dashboard page: follows /events (server-sent events), keeps every
 * run's points, and redraws the uPlot figures at most once a second.
 * Events (JSON in each message's data):
 *   {"type":"hello", "session"}                       sent first on every connection
 *   {"type":"run", "id", "name", "source", "live", "regress", "status"[, "reset":1]}
 *     (reset: the run starts over, e.g. a search trial run again; its points go)
 *   {"type":"batch", "run", "x", "loss", "acc", "lr", "samples_per_second", "w_rms", "g_rms"}
 *   {"type":"epoch", "run", "x", "loss", "acc", "val_loss", "val_acc", "mse", "val_mse",
 *    "lr", "samples_per_second", "epoch_seconds", "w_rms", "g_rms", ...}
 *   {"type":"study", "id", "name", "metric", "direction", "pruner", "min_epochs", "eta", ...}
 *   {"type":"trial", "run", "study", "number", "state", "attempts", "params", "value",
 *    "epochs", "started", "ended", "cpu_s", "wall_s"}          (search databases)
 *   {"type":"health", "study", "time", "elapsed", "workers", "cores", "busy", "efficiency",
 *    "parallelism", ...}
 * The server replays everything on each connection, so the page clears its
 * data on "hello" and rebuilds it; it reconnects by itself. The study view
 * (study.js) draws the study, trial and health events; this file the runs'
 * curves, with the reading aids (legend keys, smoothing, x axis, log axes,
 * filter, downloads). */
"use strict";
(function () {
  /* 24 colours that stay apart (Tableau 10, then darker and lighter
   * companions); past 24 runs the colour comes back with a longer dash
   * rhythm on the run list's swatch, and the filter box narrows the set. */
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a",
                   "#637939", "#8c6d31", "#7b4173", "#3182bd", "#e6550d", "#31a354",
                   "#756bb1", "#636363", "#6baed6", "#fd8d3c", "#74c476", "#de9ed6"];
  const DASHES = [[], [8, 5], [2, 4], [10, 4, 2, 4]];
  const VAL_DASH = [7, 5];
  /* The page redraws at most once a second, and less often when a redraw
   * takes long: its script time stays under 2% of one core
   * (bench/dashboard/overhead.js measures what it costs training). */
  const REDRAW_MS = 1000;
  const REDRAW_BUDGET = 50;
  const HEIGHT = 230;
  const XLABEL = { epoch: "epoch", step: "step (batches)", wall: "wall time (s)" };

  const state = {
    runs: new Map(),       /* id -> run */
    hidden: new Set(),     /* names of runs the user unticked (kept across reconnects) */
    filter: "",            /* the filter box: runs whose name or parameters hold it */
    logLoss: false,
    logLr: true,
    batchPts: true,
    smooth: 0,             /* EMA weight, 0: raw curves only */
    xMode: "epoch",        /* epoch, step or wall */
    highlight: 0,          /* a run id picked in the trials table, 0: none */
    dirty: true,
    listDirty: true,
    /* study view (study.js): studies, trials by run id, health points */
    studies: new Map(), trials: new Map(), health: new Map(),
  };

  /* ------------------------------------------------------------ data */

  function newRun(ev) {
    return {
      id: ev.id, name: ev.name, source: ev.source, live: !!ev.live,
      regress: !!ev.regress, status: ev.status,
      color: PALETTE[(ev.id - 1) % PALETTE.length],
      /* every point in arrival order (within-epoch and epoch ends) */
      t: { x: [], step: [], wall: [], loss: [], acc: [], lr: [], sps: [], w: [], g: [] },
      /* epoch ends only */
      e: { x: [], step: [], wall: [], loss: [], acc: [], val_loss: [], val_acc: [], mse: [],
           val_mse: [], lr: [], sps: [], secs: [], w: [], g: [] },
      nLayers: 0, last: null, nb: 0, t0: null, cum: 0,
    };
  }

  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }

  /* step: batches seen (runs without batch records: epochs x batches per
   * epoch when known, else the epoch); wall: seconds since the run began
   * (from the events' time, else the sum of the epoch times) */
  function xsOf(r, ev) {
    if (ev.type === "batch" && ev.n_batches > 0) r.nb = ev.n_batches;
    const step = ev.type === "batch" ? (ev.epoch - 1) * (ev.n_batches || 0) + ev.batch
      : r.nb ? ev.epoch * r.nb : ev.x;
    let wall;
    if (typeof ev.time === "number" && ev.time > 0) {
      if (r.t0 === null) r.t0 = ev.time - (num(ev.seconds) || num(ev.epoch_seconds) || 0);
      wall = ev.time - r.t0;
    } else {
      if (ev.type === "epoch") r.cum += num(ev.epoch_seconds) || 0;
      wall = r.cum;
    }
    return [step, wall];
  }

  function onRun(ev) {
    const r = state.runs.get(ev.id);
    if (ev.reset) {
      state.runs.set(ev.id, newRun(ev));
      state.dirty = true;
    } else if (r) {
      r.status = ev.status; r.name = ev.name; r.regress = !!ev.regress;
    } else {
      state.runs.set(ev.id, newRun(ev));
    }
    state.listDirty = state.dirty = true;
  }

  function onEvent(ev) {
    if (ev.type === "hello") {
      state.runs.clear(); state.studies.clear(); state.trials.clear(); state.health.clear();
      state.dirty = state.listDirty = state.studyDirty = true;
      return;
    }
    if (ev.type === "run") return onRun(ev);
    if (ev.type === "study") { state.studies.set(ev.id, ev); state.studyDirty = true; return; }
    if (ev.type === "trial") {
      state.trials.set(ev.run, ev); state.studyDirty = state.listDirty = true; return;
    }
    if (ev.type === "health") {
      if (!state.health.has(ev.study)) state.health.set(ev.study, []);
      state.health.get(ev.study).push(ev); state.studyDirty = true; return;
    }
    const r = state.runs.get(ev.run);
    if (!r || typeof ev.x !== "number") return;
    const w = Array.isArray(ev.w_rms) ? ev.w_rms.map(num) : null;
    const g = Array.isArray(ev.g_rms) ? ev.g_rms.map(num) : null;
    if (w && w.length > r.nLayers) r.nLayers = w.length;
    const [step, wall] = xsOf(r, ev);
    const t = r.t;
    t.x.push(ev.x); t.step.push(step); t.wall.push(wall);
    t.loss.push(num(ev.loss)); t.acc.push(num(ev.acc)); t.lr.push(num(ev.lr));
    t.sps.push(num(ev.samples_per_second)); t.w.push(w); t.g.push(g);
    if (ev.type === "epoch") {
      const e = r.e;
      e.x.push(ev.x); e.step.push(step); e.wall.push(wall);
      e.loss.push(num(ev.loss)); e.acc.push(num(ev.acc));
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

  function matches(r) {
    const f = state.filter.trim().toLowerCase();
    if (!f) return true;
    const tr = state.trials.get(r.id);
    const text = (r.name + " " + r.status + " " + (tr ? JSON.stringify(tr.params) + " " + tr.state : ""))
      .toLowerCase();
    return f.split(/\s+/).every((w) => text.includes(w));
  }

  function shownRuns() {
    return [...state.runs.values()].filter((r) => !state.hidden.has(r.name) && matches(r));
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

  /* At most four points per pixel column are drawn: past that, each
   * column keeps its first, lowest, highest and last point, so spikes stay
   * visible while a long run's redraw cost stops growing. Downloads get
   * every point. */
  function decimate(t, columns) {
    const [X, Y] = t;
    const n = X.length;
    if (n <= 4 * columns) return t;
    const x0 = X[0], span = X[n - 1] - x0 || 1;
    const OX = [], OY = [];
    let i = 0;
    while (i < n) {
      const col = Math.min(columns - 1, Math.floor(((X[i] - x0) / span) * columns));
      let j = i, lo = i, hi = i;
      while (j + 1 < n && Math.min(columns - 1, Math.floor(((X[j + 1] - x0) / span) * columns)) === col) {
        j++;
        if (Y[j] < Y[lo]) lo = j;
        if (Y[j] > Y[hi]) hi = j;
      }
      for (const k of [...new Set([i, Math.min(lo, hi), Math.max(lo, hi), j])]) { OX.push(X[k]); OY.push(Y[k]); }
      i = j + 1;
    }
    return [OX, OY];
  }

  /* exponential moving average with TensorBoard's debiasing */
  function ema(ys, wgt) {
    let acc = 0, n = 0;
    return ys.map((y) => {
      if (y === null) return null;
      acc = acc * wgt + (1 - wgt) * y; n++;
      return acc / (1 - Math.pow(wgt, n));
    });
  }

  function layerCol(rows, l) { return rows.map((v) => (v && l < v.length ? v[l] : null)); }

  function xs(src) { return state.xMode === "epoch" ? src.x : src[state.xMode]; }
  function pick(r, tkey, ekey) {
    return state.batchPts ? [xs(r.t), r.t[tkey]] : [xs(r.e), r.e[ekey]];
  }
  function epochs(r, key) { return [xs(r.e), r.e[key]]; }

  function trainVal(r, tkey, vkey, batch) {
    return [{ label: r.name, run: r, color: r.color, dash: [], data: batch ? pick(r, tkey, tkey) : epochs(r, tkey) },
            { label: r.name + " val", run: r, color: r.color, dash: VAL_DASH, data: epochs(r, vkey) }];
  }

  const RUN_KEY = [["solid", "training set"], ["dashed", "validation set"]];
  const bothKinds = () => { const rs = shownRuns(); return rs.some((r) => r.regress) && rs.some((r) => !r.regress); };

  /* Each figure: a title, which runs it draws (classification and
   * regression never share a y axis), what colour and dash mean, and per
   * run its lines. */
  const FIGS = [
    { key: "loss", title: () => (bothKinds() ? "Loss, classification runs" : "Loss") + (state.logLoss ? " (log scale)" : ""),
      runs: (r) => !r.regress || !bothKinds(), log: () => state.logLoss, legend: RUN_KEY,
      lines: (r) => trainVal(r, "loss", "val_loss", true) },
    { key: "lossr", title: () => "Loss, regression runs" + (state.logLoss ? " (log scale)" : ""),
      runs: (r) => r.regress && bothKinds(), log: () => state.logLoss, legend: RUN_KEY,
      lines: (r) => trainVal(r, "loss", "val_loss", true) },
    { key: "acc", title: () => "Accuracy", runs: (r) => !r.regress, legend: RUN_KEY,
      always: () => !shownRuns().some((r) => r.regress),
      lines: (r) => trainVal(r, "acc", "val_acc", true) },
    { key: "mse", title: () => "Mean squared error" + (state.logLoss ? " (log scale)" : ""),
      runs: (r) => r.regress, log: () => state.logLoss, legend: RUN_KEY,
      lines: (r) => trainVal(r, "mse", "val_mse", false) },
    { key: "lr", title: () => "Learning rate" + (state.logLr ? " (log scale)" : ""), log: () => state.logLr,
      noSmooth: true, lines: (r) => [{ label: r.name, run: r, color: r.color, dash: [], data: pick(r, "lr", "lr") }] },
    { key: "sps", title: () => "Throughput (samples/s)",
      lines: (r) => [{ label: r.name, run: r, color: r.color, dash: [], data: pick(r, "sps", "sps") }] },
    { key: "secs", title: () => "Epoch time (s)",
      lines: (r) => [{ label: r.name, run: r, color: r.color, dash: [], data: epochs(r, "secs") }] },
    { key: "wrms", title: () => "Weight RMS per layer", layers: true,
      lines: (r, i) => layers(r, i, "w") },
    { key: "grms", title: () => "Gradient RMS per layer (log scale)", log: () => true, layers: true,
      lines: (r, i) => layers(r, i, "g") },
  ];

  function layers(r, i, which) {
    const src = state.batchPts ? r.t : r.e;
    const out = [];
    for (let l = 0; l < r.nLayers; l++) {
      out.push({ label: r.name + " L" + (l + 1), run: r, color: PALETTE[l % PALETTE.length],
                 dash: DASHES[i % DASHES.length], data: [xs(src), layerCol(src[which], l)] });
    }
    return out;
  }

  const charts = new Map(); /* key -> {div, body, key, u, sig, lines, data} */

  function chartWidth(div) { return Math.max(300, div.clientWidth - 16); }

  function fmtTick(v) {
    if (v === null || v === undefined) return "";
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
    return String(+v.toPrecision(4));
  }

  /* the legend's value: at the cursor, else the series' last value */
  function legendValue(u, v, si, idx) {
    if (v !== null && v !== undefined) return fmtTick(v);
    const ys = u.data[si];
    for (let i = (idx === null || idx === undefined ? ys.length : idx + 1) - 1; i >= 0; i--)
      if (ys[i] !== null && ys[i] !== undefined) return fmtTick(ys[i]);
    return "";
  }

  function makeChart(fig, c, lines, log, data) {
    const opts = {
      width: chartWidth(c.div), height: HEIGHT,
      scales: { x: { time: false }, y: { distr: log ? 3 : 1, log: 10 } },
      axes: [
        { label: XLABEL[state.xMode], labelSize: 16, size: 36 },
        { size: 62, values: (u, vals) => vals.map(fmtTick) },
      ],
      series: [{ label: XLABEL[state.xMode], value: (u, v) => (v === null ? "" : (+v.toFixed(3)).toString()) }]
        .concat(lines.map((s) => ({
          label: s.label, stroke: s.color, width: s.width || 1.6, dash: s.dash, spanGaps: true,
          /* a run with one or two points (a trial pruned early) shows them */
          points: { show: s.few, size: 6 }, value: legendValue,
        }))),
      legend: { show: lines.length <= 8, live: true },
      cursor: { drag: { x: true, y: false } },
    };
    c.body.textContent = "";
    return new uPlot(opts, data, c.body);
  }

  /* What colour and dash mean in this figure, drawn as small line samples. */
  function renderKey(fig, c, rs) {
    const parts = [];
    const sample = (color, dash, text) => {
      const svg = '<svg width="22" height="8"><line x1="1" y1="4" x2="21" y2="4" stroke="' + color +
        '" stroke-width="2" stroke-dasharray="' + (dash.length ? dash.join(",") : "none") + '"/></svg>';
      return '<span class="k">' + svg + esc(text) + "</span>";
    };
    if (fig.layers) {
      const n = Math.max(0, ...rs.map((r) => r.nLayers));
      parts.push("colour: layer");
      for (let l = 0; l < n && l < 8; l++) parts.push(sample(PALETTE[l % PALETTE.length], [], "L" + (l + 1)));
      if (rs.length > 1) {
        parts.push("· dash: run");
        rs.slice(0, 4).forEach((r, i) => parts.push(sample("#555", DASHES[i % DASHES.length], r.name)));
      }
    } else {
      parts.push("colour: run (list on the left)");
      if (fig.legend === RUN_KEY)
        RUN_KEY.forEach(([d, t], i) => parts.push(sample("#555", i ? VAL_DASH : [], t)));
      if (state.smooth > 0 && !fig.noSmooth) parts.push("· faint: raw, bold: smoothed");
    }
    const html = parts.join(" ");
    if (c.keyHtml !== html) { c.key.innerHTML = html; c.keyHtml = html; }
  }

  function esc(s) {
    return String(s).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[ch]));
  }

  function chartFor(fig, container) {
    let c = charts.get(fig.key);
    if (c) return c;
    const div = document.createElement("div");
    div.className = "chart";
    div.id = "chart-" + fig.key;
    const head = document.createElement("div");
    head.className = "chead";
    const title = document.createElement("span");
    title.className = "u-title";
    const csv = document.createElement("button");
    csv.type = "button"; csv.textContent = "CSV"; csv.className = "dl csv"; csv.title = "download this figure's data";
    const png = document.createElement("button");
    png.type = "button"; png.textContent = "PNG"; png.className = "dl png"; png.title = "download this figure as an image";
    head.append(title, csv, png);
    const key = document.createElement("div");
    key.className = "key";
    const body = document.createElement("div");
    div.append(head, key, body);
    container.appendChild(div);
    c = { div, head, title, key, body, u: null, sig: "", lines: [], data: null, fig };
    csv.addEventListener("click", () => downloadCsv(c));
    png.addEventListener("click", () => downloadPng(c));
    charts.set(fig.key, c);
    return c;
  }

  /* The figure's lines for the shown runs: smoothed (with the raw curve
   * faint behind) and highlighted as asked. */
  function figLines(fig, rs) {
    let lines = [];
    rs.forEach((r, i) => { lines = lines.concat(fig.lines(r, i)); });
    const log = fig.log ? fig.log() : false;
    const out = [];
    for (const s of lines) {
      s.positive = log;
      const n = table(s.data[0], s.data[1], log)[0].length;
      s.few = n > 0 && n <= 2;
      const dim = state.highlight && s.run.id !== state.highlight;
      const base = dim ? s.color + "40" : s.color;
      if (state.highlight && !dim) s.width = 3;
      if (state.smooth > 0 && !fig.noSmooth && n > 2) {
        out.push({ ...s, label: s.label + " raw", color: s.color + "38", width: 1, few: false });
        out.push({ ...s, color: base, data: [s.data[0], ema(s.data[1], state.smooth)] });
      } else {
        out.push({ ...s, color: base });
      }
    }
    return out;
  }

  function emptyChart(c, fig, rs) {
    if (c.u) { c.u.destroy(); c.u = null; }
    c.sig = ""; c.data = null; c.tabs = null;
    c.body.innerHTML = "";
    const e = document.createElement("div");
    e.className = "empty";
    const anyRunning = rs.some((r) => r.status === "running");
    e.textContent = !state.runs.size ? "waiting for a run"
      : anyRunning ? "no values yet" : "not recorded for these runs";
    c.body.appendChild(e);
  }

  function render() {
    if (state.listDirty) renderList();
    if (window.mlpcStudy && state.studyDirty && !document.hidden) {
      state.studyDirty = false;
      window.mlpcStudy.render(state, api);
    }
    if (!state.dirty || document.hidden) return;
    state.dirty = false;
    const container = document.getElementById("charts");
    const all = shownRuns();
    for (const fig of FIGS) {
      const rs = fig.runs ? all.filter(fig.runs) : all;
      const show = rs.length > 0 || (fig.always ? fig.always() : !fig.runs);
      const c = chartFor(fig, container);
      c.div.hidden = !show;
      if (!show) { if (c.u) { c.u.destroy(); c.u = null; c.sig = ""; } continue; }
      const title = fig.title();
      if (c.title.textContent !== title) c.title.textContent = title;
      renderKey(fig, c, rs);
      const log = fig.log ? fig.log() : false;
      const lines = figLines(fig, rs);
      let points = 0;
      const tabs = lines.map((s) => table(s.data[0], s.data[1], s.positive));
      lines.forEach((s, i) => { if (!/ raw$/.test(s.label)) points += tabs[i][0].length; });
      c.div.dataset.points = String(points);
      if (lines.length === 0 || points === 0) { emptyChart(c, fig, rs); continue; }
      const sig = state.xMode + "|" + log + "|" + lines.map((s) => s.label + s.color + s.dash + s.width + s.few).join(",");
      const cols = chartWidth(c.div);
      const data = uPlot.join(tabs.map((t) => decimate(t, cols)));
      c.lines = lines; c.data = data; c.tabs = tabs;
      c.div.dataset.drawn = String(data[0].length);
      if (!c.u || c.sig !== sig) {
        if (c.u) c.u.destroy();
        c.u = makeChart(fig, c, lines, log, data);
        c.sig = sig;
      } else {
        c.u.setData(data);
      }
    }
  }

  /* ------------------------------------------------------------ downloads */

  function saveBlob(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  function csvCell(v) {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  /* rows of a figure as CSV: the x column, then one column per line */
  function toCsv(header, cols) {
    const out = [header.map(csvCell).join(",")];
    const n = cols.length ? cols[0].length : 0;
    for (let i = 0; i < n; i++) out.push(cols.map((c) => csvCell(c[i])).join(","));
    return out.join("\n") + "\n";
  }

  function downloadCsv(c) {
    if (!c.tabs) return;
    const header = [XLABEL[state.xMode]].concat(c.lines.map((s) => s.label));
    saveBlob(new Blob([toCsv(header, uPlot.join(c.tabs))], { type: "text/csv" }), "mlpc-" + c.fig.key + ".csv");
  }

  /* the figure's canvas on white, with its title, as PNG */
  function canvasPng(src, title, name) {
    const pad = 28;
    const out = document.createElement("canvas");
    out.width = src.width; out.height = src.height + pad;
    const g = out.getContext("2d");
    g.fillStyle = "#fff"; g.fillRect(0, 0, out.width, out.height);
    g.fillStyle = "#1d2330"; g.font = "bold 16px sans-serif"; g.textAlign = "center";
    g.fillText(title, out.width / 2, 20);
    g.drawImage(src, 0, pad);
    out.toBlob((b) => saveBlob(b, name), "image/png");
  }

  function downloadPng(c) {
    if (!c.u) return;
    canvasPng(c.u.ctx.canvas, c.title.textContent, "mlpc-" + c.fig.key + ".png");
  }

  /* ------------------------------------------------------------ run list */

  function fmt(v, d) { return v === null || v === undefined ? "-" : (+v).toFixed(d); }

  /* a trial's state as the CLI says it: pruned (at rung k), retried, ... */
  function statusText(r) {
    const tr = state.trials.get(r.id);
    if (!tr) return r.status;
    return window.mlpcStudy ? window.mlpcStudy.stateText(state, tr) : tr.state;
  }

  function renderList() {
    state.listDirty = false;
    const ul = document.getElementById("runs");
    ul.textContent = "";
    const shown = [...state.runs.values()].filter(matches);
    document.getElementById("nruns").textContent = !state.runs.size ? ""
      : shown.length === state.runs.size ? "(" + state.runs.size + ")"
      : "(" + shown.length + " of " + state.runs.size + ")";
    for (const r of shown) {
      const li = document.createElement("li");
      li.dataset.run = String(r.id);
      if (state.highlight === r.id) li.className = "hl";
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
      const tr = state.trials.get(r.id);
      st.className = "st " + (tr ? tr.state : r.status);
      st.textContent = statusText(r);
      const meta = document.createElement("div");
      meta.className = "meta";
      const l = r.last;
      if (l) {
        meta.textContent = "epoch " + l.epoch + "  loss " + fmt(l.loss, 4) +
          (r.regress ? "  val_mse " + fmt(l.val_mse, 4) : "  val_acc " + fmt(l.val_acc, 4));
      } else {
        meta.textContent = r.live || r.status === "running" ? "first epoch running" : "no epochs";
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

  const on = (id, ev, fn) => document.getElementById(id).addEventListener(ev, fn);
  on("logloss", "change", (e) => { state.logLoss = e.target.checked; state.dirty = true; });
  on("loglr", "change", (e) => { state.logLr = e.target.checked; state.dirty = true; });
  on("batchpts", "change", (e) => { state.batchPts = e.target.checked; state.dirty = true; });
  on("xmode", "change", (e) => { state.xMode = e.target.value; state.dirty = true; });
  on("smooth", "input", (e) => {
    state.smooth = Math.min(0.99, Math.max(0, Number(e.target.value) || 0));
    document.getElementById("smoothval").textContent = state.smooth ? state.smooth.toFixed(2) : "off";
    state.dirty = true;
  });
  on("filter", "input", (e) => {
    state.filter = e.target.value; state.dirty = state.listDirty = state.studyDirty = true;
  });
  on("all", "click", () => { state.hidden.clear(); state.dirty = state.listDirty = true; });
  on("none", "click", () => {
    state.runs.forEach((r) => state.hidden.add(r.name)); state.dirty = state.listDirty = true;
  });
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      charts.forEach((c) => { if (c.u) c.u.setSize({ width: chartWidth(c.div), height: HEIGHT }); });
      state.studyDirty = true;
    }, 150);
  });
  document.addEventListener("visibilitychange", () => { state.dirty = state.studyDirty = true; });

  /* what the study view uses from here */
  const api = {
    PALETTE, fmtTick, legendValue, toCsv, saveBlob, canvasPng, matches, esc,
    highlight(id) {
      state.highlight = state.highlight === id ? 0 : id;
      state.dirty = state.listDirty = state.studyDirty = true;
      render();
    },
  };
  window.mlpcDash = { state, api, render, charts };

  /* the redraw loop: the next one waits REDRAW_BUDGET times as long as this
   * one took, and at least REDRAW_MS */
  const drawStats = { renders: 0, ms: 0, interval: REDRAW_MS };
  window.mlpcDash.drawStats = drawStats;
  function tick() {
    const t0 = performance.now();
    try {
      render();
    } finally { /* a failed redraw does not stop the next ones */
      const dt = performance.now() - t0;
      drawStats.renders++; drawStats.ms += dt;
      drawStats.interval = Math.min(10000, Math.max(REDRAW_MS, dt * REDRAW_BUDGET));
      setTimeout(tick, drawStats.interval);
    }
  }
  tick();
  connect();
})();
