/* mlpc dashboard, study view: for search databases (mlpc search --dashboard,
 * mlpc dashboard STUDY.db). From the "study", "trial" and "health" events
 * (app.js keeps them in its state) it draws, per study:
 *   - the trials table: one column per parameter that varies, state (as the
 *     CLI says it: "pruned at rung k"), epochs, the objective, the best value
 *     of the metric over the epochs, wall time; sortable; a click on a row
 *     highlights the trial's curves;
 *   - optimization history: objective against trial number, running best;
 *   - parallel coordinates of the parameters against the objective;
 *   - the ASHA rungs: which trials reached, were pruned at, went past each;
 *   - the search's health over time: trials running, parallelism, CPU
 *     efficiency (as mlpc search --report computes it), and what that says
 *     about adding workers.
 * Pruned trials stay in every view. */
"use strict";
(function () {
  const views = new Map(); /* study id -> {root, parts...} */
  const sortBy = { key: "number", dir: 1 };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }

  function rungsOf(st, trials) {
    if (!st || st.pruner !== "asha" || !(st.min_epochs > 0)) return [];
    let maxEp = 0;
    for (const t of trials) maxEp = Math.max(maxEp, num(t.params.epochs) || 0, t.done || t.epochs || 0);
    const out = [];
    for (let r = st.min_epochs; r < maxEp && out.length < 32; r *= Math.max(2, st.eta || 3)) out.push(r);
    return out;
  }

  /* epochs done: the search records them when a trial ends; while it runs,
   * the run's last epoch on the page */
  function epochsOf(state, t) {
    if (t.state !== "running") return t.epochs || 0;
    const r = state.runs.get(t.run);
    return Math.max(t.epochs || 0, r && r.last ? r.last.epoch : 0);
  }

  function trialsOf(state, id) {
    return [...state.trials.values()].filter((t) => t.study === id)
      .map((t) => Object.assign({}, t, { done: epochsOf(state, t) }))
      .sort((a, b) => a.number - b.number);
  }

  /* "complete", "running", "failed", "pruned at rung 2 (epoch 3)",
   * and ", retried (attempt 2)" after a worker died */
  function stateText(state, tr) {
    let s = tr.state;
    if (tr.state === "pruned") {
      const rungs = rungsOf(state.studies.get(tr.study), trialsOf(state, tr.study));
      const k = rungs.indexOf(tr.epochs);
      s = k >= 0 ? "pruned at rung " + (k + 1) + " (epoch " + tr.epochs + ")" : "pruned at epoch " + tr.epochs;
    }
    if (tr.attempts > 1) s += ", retried (attempt " + tr.attempts + ")";
    return s;
  }

  function paramText(v) {
    if (typeof v === "number") return String(+v.toPrecision(4));
    return v === undefined || v === null ? "" : String(v);
  }

  /* the parameters that differ between trials, and those that do not */
  function paramKeys(trials) {
    const keys = [], same = [];
    const all = new Set();
    trials.forEach((t) => Object.keys(t.params).forEach((k) => all.add(k)));
    for (const k of all) {
      const vals = new Set(trials.map((t) => JSON.stringify(t.params[k])));
      /* one trial: every parameter is a column */
      if (vals.size > 1 || trials.length < 2) keys.push(k); else same.push(k + " " + paramText(trials[0].params[k]));
    }
    return { keys, same };
  }

  /* the best value of the study's metric over the trial's epochs */
  function bestOf(state, st, tr) {
    const r = state.runs.get(tr.run);
    if (!r || !st) return null;
    const ys = (r.e[st.metric] || []).filter((v) => v !== null);
    if (!ys.length) return null;
    return st.direction === "maximize" ? Math.max(...ys) : Math.min(...ys);
  }

  /* ------------------------------------------------------------ table */

  function columns(state, st, keys) {
    const cols = [
      { key: "number", label: "#", get: (t) => t.number },
      { key: "state", label: "state", get: (t) => stateText(state, t), cls: (t) => "st " + t.state },
    ];
    keys.forEach((k) => cols.push({ key: "p:" + k, label: k, get: (t) => t.params[k], fmt: paramText }));
    cols.push({ key: "epochs", label: "epochs", get: (t) => t.done });
    cols.push({ key: "value", label: (st ? st.metric : "value") + " (objective)", get: (t) => num(t.value), fmt: fmtNum });
    cols.push({ key: "best", label: "best " + (st ? st.metric : ""), get: (t) => bestOf(state, st, t), fmt: fmtNum });
    cols.push({ key: "wall", label: "wall s", get: (t) => wallOf(t), fmt: (v) => (v === null ? "" : v.toFixed(2)) });
    return cols;
  }

  function fmtNum(v) { return v === null || v === undefined ? "" : String(+v.toPrecision(6)); }
  function wallOf(t) {
    if (num(t.wall_s) !== null) return t.wall_s;
    return num(t.started) !== null ? Math.max(0, Date.now() / 1000 - t.started) : null;
  }

  function cmp(a, b) {
    const an = a === null || a === undefined || a === "", bn = b === null || b === undefined || b === "";
    if (an || bn) return an && bn ? 0 : an ? 1 : -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function renderTable(state, api, v, st, trials) {
    const { keys, same } = paramKeys(trials);
    const cols = columns(state, st, keys);
    const col = cols.find((c) => c.key === sortBy.key) || cols[0];
    const none = (x) => x === null || x === undefined || x === "";
    const rows = trials.slice().sort((a, b) => { /* empty cells last either way */
      const va = col.get(a), vb = col.get(b);
      if (none(va) || none(vb)) return none(va) && none(vb) ? a.number - b.number : none(va) ? 1 : -1;
      return cmp(va, vb) * sortBy.dir || a.number - b.number;
    });
    const table = el("table", "trials");
    const tr = el("tr");
    cols.forEach((c) => {
      const th = el("th", c.key === sortBy.key ? (sortBy.dir > 0 ? "asc" : "desc") : "", c.label);
      th.dataset.key = c.key;
      th.title = "sort by " + c.label;
      th.addEventListener("click", () => {
        sortBy.dir = sortBy.key === c.key ? -sortBy.dir : 1;
        sortBy.key = c.key;
        state.studyDirty = true;
        window.mlpcDash.render();
      });
      tr.appendChild(th);
    });
    table.appendChild(el("thead")).appendChild(tr);
    const body = table.appendChild(el("tbody"));
    for (const t of rows) {
      const run = state.runs.get(t.run);
      const row = el("tr", state.highlight === t.run ? "hl" : "");
      row.dataset.run = String(t.run);
      row.dataset.state = t.state;
      if (run && !api.matches(run)) row.hidden = true;
      cols.forEach((c, i) => {
        const val = c.get(t);
        const td = el("td", c.cls ? c.cls(t) : typeof val === "number" ? "n" : "",
          c.fmt ? c.fmt(val) : paramText(val));
        if (i === 0 && run) {
          const sw = el("span", "swatch");
          sw.style.background = run.color;
          td.prepend(sw);
        }
        row.appendChild(td);
      });
      row.addEventListener("click", () => api.highlight(t.run));
      body.appendChild(row);
    }
    v.table.replaceChildren(table);
    v.same.textContent = same.length ? "same in every trial: " + same.join(", ") : "";
    v.tableCsv = () => api.toCsv(cols.map((c) => c.label),
      cols.map((c) => rows.map((t) => (c.fmt ? c.fmt(c.get(t)) : paramText(c.get(t))))));
  }

  /* ------------------------------------------------------------ history */

  function historyData(st, trials) {
    const max = st && st.direction === "maximize";
    const x = [], done = [], pruned = [], best = [];
    let b = null;
    for (const t of trials) {
      const val = num(t.value);
      x.push(t.number);
      done.push(t.state === "complete" ? val : null);
      pruned.push(t.state === "pruned" ? val : null);
      if (t.state === "complete" && val !== null && (b === null || (max ? val > b : val < b))) b = val;
      best.push(b);
    }
    return [x, done, pruned, best];
  }

  function uplotIn(v, part, opts, data) {
    const host = v[part];
    const sig = JSON.stringify(opts.series.map((s) => s.label)) + host.clientWidth;
    if (v["u_" + part] && v["sig_" + part] === sig) {
      v["u_" + part].setData(data);
      return;
    }
    if (v["u_" + part]) v["u_" + part].destroy();
    host.textContent = "";
    opts.width = Math.max(300, host.clientWidth - 8);
    v["u_" + part] = new uPlot(opts, data, host);
    v["sig_" + part] = sig;
  }

  function renderHistory(api, v, st, trials) {
    const data = historyData(st, trials);
    v.history.dataset.points = String(data[1].filter((y) => y !== null).length +
      data[2].filter((y) => y !== null).length);
    const dot = (label, color) => ({ label, stroke: color, fill: color, width: 0, paths: () => null,
      points: { show: true, size: 7, fill: color }, value: api.legendValue });
    uplotIn(v, "history", {
      height: 220,
      scales: { x: { time: false } },
      axes: [{ label: "trial", labelSize: 16, size: 36 }, { size: 62, values: (u, vals) => vals.map(api.fmtTick) }],
      series: [{ label: "trial" }, dot("complete", "#1f77b4"), dot("pruned (value at its rung)", "#b0b4bd"),
        { label: "best so far", stroke: "#d62728", width: 2, spanGaps: true, paths: uPlot.paths.stepped({ align: 1 }),
          value: api.legendValue }],
      legend: { live: true },
    }, data);
    v.historyData = data;
  }

  /* ------------------------------------------------------------ parallel coordinates */

  function axesOf(st, trials, keys) {
    const axes = keys.map((k) => {
      const vals = trials.map((t) => t.params[k]);
      const nums = vals.every((x) => typeof x === "number");
      if (!nums) {
        const cats = [...new Set(vals.map(paramText))].sort((a, b) => cmp(a, b));
        return { label: k, cats, pos: (t) => (cats.length > 1 ? cats.indexOf(paramText(t.params[k])) / (cats.length - 1) : 0.5) };
      }
      const lo = Math.min(...vals), hi = Math.max(...vals);
      const log = lo > 0 && hi / lo >= 20;
      const f = (x) => (log ? Math.log10(x) : x);
      return { label: k + (log ? " (log)" : ""), lo, hi,
               pos: (t) => (hi > lo ? (f(t.params[k]) - f(lo)) / (f(hi) - f(lo)) : 0.5) };
    });
    const vals = trials.map((t) => num(t.value)).filter((x) => x !== null);
    const lo = Math.min(...vals), hi = Math.max(...vals);
    axes.push({ label: (st ? st.metric : "value") + " (objective)", lo, hi, objective: true,
                pos: (t) => (num(t.value) === null ? null : hi > lo ? (t.value - lo) / (hi - lo) : 0.5) });
    return axes;
  }

  /* good values dark blue, bad ones light orange */
  function valueColor(q) {
    const a = [33, 72, 160], b = [250, 180, 80];
    const c = a.map((x, i) => Math.round(x + (b[i] - x) * q));
    return "rgb(" + c.join(",") + ")";
  }

  function renderParallel(state, v, st, trials) {
    const { keys } = paramKeys(trials);
    const cv = v.parcoords;
    const W = Math.max(300, cv.parentElement.clientWidth - 16), H = 240;
    const dpr = window.devicePixelRatio || 1;
    cv.width = W * dpr; cv.height = H * dpr; cv.style.width = W + "px"; cv.style.height = H + "px";
    const g = cv.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#fff"; g.fillRect(0, 0, W, H);
    const withValue = trials.filter((t) => num(t.value) !== null);
    cv.dataset.lines = String(withValue.length);
    cv.dataset.axes = String(keys.length + 1);
    if (!withValue.length) {
      g.fillStyle = "#8a92a3"; g.font = "13px sans-serif"; g.textAlign = "center";
      g.fillText("no trial has a value yet", W / 2, H / 2);
      return;
    }
    const axes = axesOf(st, trials, keys);
    const top = 34, bot = H - 26, left = 40, right = W - 40;
    const ax = (i) => (axes.length > 1 ? left + (i * (right - left)) / (axes.length - 1) : (left + right) / 2);
    const y = (q) => bot - q * (bot - top);
    const obj = axes[axes.length - 1];
    const maximize = st && st.direction === "maximize";
    const order = withValue.slice().sort((a, b) => (a.run === state.highlight) - (b.run === state.highlight));
    for (const t of order) {
      const q = obj.pos(t);
      const good = maximize ? q : 1 - q;
      const hl = state.highlight === t.run;
      g.strokeStyle = hl ? "#111" : t.state === "pruned" ? "rgba(150,155,165,0.55)" : valueColor(1 - good);
      g.lineWidth = hl ? 3 : t.state === "pruned" ? 1 : 1.6;
      g.setLineDash(t.state === "pruned" ? [4, 3] : []);
      g.beginPath();
      axes.forEach((a, i) => { const p = a.pos(t); if (i) g.lineTo(ax(i), y(p)); else g.moveTo(ax(i), y(p)); });
      g.stroke();
    }
    g.setLineDash([]);
    g.fillStyle = "#1d2330"; g.strokeStyle = "#555"; g.lineWidth = 1; g.font = "11px sans-serif"; g.textAlign = "center";
    axes.forEach((a, i) => {
      g.beginPath(); g.moveTo(ax(i), top); g.lineTo(ax(i), bot); g.stroke();
      g.fillText(a.label, ax(i), top - 18);
      const hiT = a.cats ? a.cats[a.cats.length - 1] : paramText(a.hi);
      const loT = a.cats ? a.cats[0] : paramText(a.lo);
      g.fillText(hiT, ax(i), top - 5);
      g.fillText(loT, ax(i), bot + 14);
    });
    v.parallelCsv = (api) => api.toCsv(["trial", "state"].concat(axes.map((a) => a.label)),
      [withValue.map((t) => t.number), withValue.map((t) => t.state)].concat(axes.map((a, i) =>
        withValue.map((t) => (a.objective ? t.value : paramText(t.params[keys[i]]))))));
  }

  /* ------------------------------------------------------------ rungs */

  function renderRungs(state, v, st, trials) {
    const rungs = rungsOf(st, trials);
    v.rungsCard.hidden = !rungs.length;
    if (!rungs.length) return;
    const t = el("table", "rungs");
    const h = el("tr");
    ["rung", "epoch", "reached", "pruned here", "went on (promoted)", "running past it"].forEach((x) => h.appendChild(el("th", "", x)));
    t.appendChild(el("thead")).appendChild(h);
    const body = t.appendChild(el("tbody"));
    const list = (ts) => ts.map((x) => "#" + x.number).join(" ");
    rungs.forEach((r, k) => {
      const reached = trials.filter((x) => x.done >= r);
      const pruned = reached.filter((x) => x.state === "pruned" && x.done === r);
      const went = reached.filter((x) => x.done > r && x.state !== "running");
      /* a running trial past the rung trains on while the rung decides */
      const deciding = reached.filter((x) => x.state === "running");
      const row = el("tr");
      row.dataset.rung = String(k + 1);
      [String(k + 1), String(r), String(reached.length), pruned.length + "  " + list(pruned),
       went.length + "  " + list(went), list(deciding)].forEach((x) => row.appendChild(el("td", "", x)));
      body.appendChild(row);
    });
    v.rungs.replaceChildren(t);
  }

  /* ------------------------------------------------------------ health */

  function verdict(h) {
    if (!h) return "";
    const avgBusy = h.parallelism;
    if (h.workers >= h.cores) return "every core has a worker: more workers would oversubscribe the cores.";
    if (avgBusy !== null && avgBusy < 0.8 * h.workers)
      return "workers wait part of the time (parallelism " + avgBusy.toFixed(2) + " of " + h.workers +
        "): more workers would not help.";
    return "workers are busy and " + (h.cores - h.workers) + " cores are free: more workers should help.";
  }

  function renderHealth(api, v, pts) {
    v.healthCard.hidden = !pts || !pts.length;
    if (!pts || !pts.length) return;
    const last = pts[pts.length - 1];
    const data = [pts.map((p) => p.elapsed), pts.map((p) => p.busy), pts.map((p) => num(p.parallelism)),
      pts.map((p) => num(p.efficiency))];
    uplotIn(v, "health", {
      height: 200,
      scales: { x: { time: false }, w: { range: (u, lo, hi) => [0, Math.max(hi, last.workers) * 1.1] },
                e: { range: [0, 1] } },
      axes: [{ label: "elapsed (s)", labelSize: 16, size: 36 },
        { scale: "w", label: "workers", labelSize: 16, size: 50 },
        { scale: "e", side: 1, label: "efficiency", labelSize: 16, size: 50, grid: { show: false } }],
      series: [{ label: "s" },
        { label: "trials running", scale: "w", stroke: "#2ca02c", width: 2, paths: uPlot.paths.stepped({ align: 1 }), value: api.legendValue },
        { label: "parallelism", scale: "w", stroke: "#1f77b4", width: 1.6, value: api.legendValue },
        { label: "CPU efficiency", scale: "e", stroke: "#d62728", width: 1.6, dash: [6, 4], value: api.legendValue }],
    }, data);
    v.healthData = data;
    v.healthText.textContent = last.workers + " workers on " + last.cores + " cores, " + last.busy + " trials running now, " +
      last.done + " trials done; parallelism " + fmt2(last.parallelism) + " (trial wall time / elapsed), CPU efficiency " +
      fmt2(last.efficiency) + " (trial CPU / (elapsed x cores), counted as trials end). " + verdict(last);
  }
  function fmt2(v) { return num(v) === null ? "-" : v.toFixed(2); }

  /* ------------------------------------------------------------ layout */

  function card(title, api, dl) {
    const c = el("div", "chart scard");
    const head = el("div", "chead");
    head.appendChild(el("span", "u-title", title));
    for (const [kind, fn] of dl || []) {
      const b = el("button", "dl " + kind.toLowerCase(), kind);
      b.type = "button";
      b.addEventListener("click", fn);
      head.appendChild(b);
    }
    c.appendChild(head);
    return c;
  }

  function makeView(api, id, root) {
    const v = { root: el("div", "study") };
    v.root.dataset.study = String(id);
    v.title = el("h2", "stitle");
    v.summary = el("div", "ssum");
    const csvOf = (fn, name) => () => { if (fn()) api.saveBlob(new Blob([fn()], { type: "text/csv" }), name); };
    const pngOf = (fn, name) => () => { const c = fn(); if (c) api.canvasPng(c, name, "mlpc-" + name + ".png"); };
    const tc = card("Trials", api, [["CSV", csvOf(() => v.tableCsv && v.tableCsv(), "mlpc-trials.csv")]]);
    v.table = el("div", "twrap"); v.same = el("div", "key");
    tc.append(v.same, v.table);
    tc.id = "trials-" + id;
    const hc = card("Optimization history", api, [
      ["CSV", csvOf(() => v.historyData && api.toCsv(["trial", "complete", "pruned", "best so far"], v.historyData), "mlpc-history.csv")],
      ["PNG", pngOf(() => v.u_history && v.u_history.ctx.canvas, "history")]]);
    v.history = el("div", "sbody"); hc.appendChild(el("div", "key", "dots: a trial's objective (grey: pruned, its value at the rung); red: best complete so far"));
    hc.appendChild(v.history); hc.id = "history-" + id;
    const pc = card("Parallel coordinates", api, [
      ["CSV", csvOf(() => v.parallelCsv && v.parallelCsv(api), "mlpc-parallel.csv")],
      ["PNG", pngOf(() => v.parcoords, "parallel coordinates")]]);
    v.parcoords = el("canvas", "parcoords");
    pc.appendChild(el("div", "key", "one line per trial through its parameters to its objective; colour: objective (dark: better); grey dashed: pruned; bold black: highlighted"));
    pc.appendChild(v.parcoords); pc.id = "parallel-" + id;
    v.rungsCard = card("ASHA rungs", api); v.rungs = el("div", "twrap"); v.rungsCard.appendChild(v.rungs);
    v.rungsCard.id = "rungs-" + id;
    v.healthCard = card("Search health: does adding workers help?", api, [
      ["CSV", csvOf(() => v.healthData && api.toCsv(["elapsed s", "trials running", "parallelism", "efficiency"], v.healthData), "mlpc-health.csv")],
      ["PNG", pngOf(() => v.u_health && v.u_health.ctx.canvas, "search health")]]);
    v.health = el("div", "sbody"); v.healthText = el("div", "key");
    v.healthCard.append(v.healthText, v.health); v.healthCard.id = "health-" + id;
    const grid = el("div", "sgrid");
    grid.append(hc, pc, v.rungsCard, v.healthCard);
    v.root.append(v.title, v.summary, tc, grid);
    root.appendChild(v.root);
    return v;
  }

  function render(state, api) {
    const root = document.getElementById("study");
    root.hidden = state.studies.size === 0;
    for (const [id, v] of views) if (!state.studies.has(id)) { v.root.remove(); views.delete(id); }
    for (const [id, st] of state.studies) {
      let v = views.get(id);
      if (!v) { v = makeView(api, id, root); views.set(id, v); }
      const trials = trialsOf(state, id);
      const count = (s) => trials.filter((t) => t.state === s).length;
      v.title.textContent = "Study " + st.name + (st.finished ? " (finished)" : "");
      v.summary.textContent = st.db + ": " + trials.length + " of " + st.n_trials + " trials: " +
        count("complete") + " complete, " + count("pruned") + " pruned, " + count("running") + " running, " +
        count("failed") + " failed; " + st.metric + " (" + st.direction + "), " + st.sampler + " sampler" +
        (st.pruner === "asha" ? ", ASHA (min_epochs " + st.min_epochs + ", eta " + st.eta + ")" : "") +
        ". Click a row to highlight its curves.";
      renderTable(state, api, v, st, trials);
      renderHistory(api, v, st, trials);
      renderParallel(state, v, st, trials);
      renderRungs(state, v, st, trials);
      renderHealth(api, v, state.health.get(id));
    }
  }

  window.mlpcStudy = { render, stateText, rungsOf };
})();
