// bench/dashboard/overhead.js - measures what the live dashboard costs training,
// on W1 (scripts/quickstart.sh's net), in two parts:
//
//   A. the process's own cost: pairs of runs without --dashboard and with
//      --dashboard but no page (the hook, the pump, the server), alternating
//      which goes first; each pair gives a ratio of median epoch times.
//   B. the page's cost: one long run with --dashboard, in which one headless
//      chromium tab alternates between the live page and about:blank every
//      PHASE seconds (alternating which comes first). An epoch counts for a
//      phase only if it ran entirely inside it, the first SETTLE seconds after
//      the page loaded left out. Each cycle gives a ratio of median epoch
//      times (page open / page closed), so slow drifts of the machine's speed
//      cancel. Chromium's CPU time in each phase is read from /proc.
//
//   node bench/dashboard/overhead.js [PAIRS] [CYCLES] [PHASE_S]   (default 6 12 2)
//
// Environment: MLPC (the binary), MLPC_CHROMIUM, THREADS (--threads for
// training; default: mlpc's own choice). Not part of `make test`: it takes
// about two minutes and needs a quiet machine to mean much.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const REPO = path.resolve(__dirname, "..", "..");
const MLPC = process.env.MLPC || path.join(REPO, "build", "mlpc");
const CHROMIUM = process.env.MLPC_CHROMIUM || "/usr/bin/chromium";
const PAIRS = Number(process.argv[2] || 6);
const CYCLES = Number(process.argv[3] || 12);
const PHASE_S = Number(process.argv[4] || 2);
const SETTLE_S = 0.5;
const playwright = require(path.join(REPO, "web", "node_modules", "playwright-core"));
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "mlpc-overhead-"));

const W1 = ["train", "--data", "mnist", "--layers", "784-30-10", "--act", "sigmoid", "--out-act",
  "sigmoid", "--loss", "quadratic", "--opt", "sgd", "--lr", "3.0", "--batch", "10", "--init", "normal",
  "--val-split", "10000"];
if (process.env.THREADS) W1.push("--threads", process.env.THREADS);

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const now = () => Date.now() / 1000;
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1;
  return s.length ? (s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2) : NaN; };
const pct = (r) => `${r >= 1 ? "+" : ""}${((r - 1) * 100).toFixed(1)}%`;

/* Starts a training run; resolves `url` once the dashboard address is printed. */
function train(extra) {
  const child = spawn(MLPC, [...W1, ...extra], { cwd: REPO });
  let out = "";
  let gotUrl;
  const url = new Promise((r) => { gotUrl = r; });
  const feed = (d) => {
    out += d;
    const m = out.match(/dashboard: (http:\/\/\S+)/);
    if (m) gotUrl(m[1]);
  };
  child.stdout.on("data", feed);
  child.stderr.on("data", feed);
  const done = new Promise((resolve, reject) => child.on("exit", (code, sig) =>
    (code === 0 || sig === "SIGINT" || code === 130 ? resolve(out) : reject(new Error(out)))));
  return { child, url, done };
}

function epochs(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim())
    .map((l) => { try { return JSON.parse(l); } catch (e) { return null; } })
    .filter((r) => r && typeof r.epoch === "number" && r.epoch_seconds > 0);
}

/* CPU seconds used so far by every chromium process */
function chromiumCpu() {
  let t = 0;
  const hz = 100;
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (!/chrom/.test(fs.readFileSync(`/proc/${p}/comm`, "utf8"))) continue;
      const f = fs.readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ");
      t += (Number(f[11]) + Number(f[12])) / hz;
    } catch (e) { /* the process ended meanwhile */ }
  }
  return t;
}

const load = () => os.loadavg()[0].toFixed(2);

async function partA() {
  const ratios = [], off = [], on = [];
  for (let r = 0; r < PAIRS; r++) {
    const m = {};
    for (const which of r % 2 ? ["on", "off"] : ["off", "on"]) {
      const file = path.join(TMP, `a-${which}-${r}.jsonl`);
      const run = train(["--epochs", "12", "--metrics", file, ...(which === "on" ? ["--dashboard=0"] : [])]);
      await run.done;
      m[which] = median(epochs(file).filter((e) => e.epoch > 2).map((e) => e.epoch_seconds));
    }
    off.push(m.off); on.push(m.on); ratios.push(m.on / m.off);
    console.log(`A pair ${r + 1}/${PAIRS}: without ${m.off.toFixed(4)} s, --dashboard (no page) ` +
      `${m.on.toFixed(4)} s, ${pct(m.on / m.off)} (load ${load()})`);
  }
  return { off: median(off), on: median(on), ratio: median(ratios) };
}

async function partB(page) {
  const file = path.join(TMP, "b.jsonl");
  const run = train(["--epochs", "100000", "--metrics", file, "--dashboard=0"]);
  const url = await run.url;
  while (epochs(file).length < 3) await sleep(0.1); // start-up and the first epochs
  const phases = []; // {cycle, open, t0, t1, cpu}
  for (let c = 0; c < CYCLES; c++) {
    for (const open of c % 2 ? [false, true] : [true, false]) {
      await page.goto(open ? url : "about:blank");
      if (open) await page.waitForFunction(() => Number(document.getElementById("chart-loss")?.dataset.points || 0) > 0);
      await sleep(SETTLE_S);
      const t0 = now(), c0 = chromiumCpu();
      await sleep(PHASE_S);
      phases.push({ cycle: c, open, t0, t1: now(), cpu: chromiumCpu() - c0 });
    }
  }
  await page.goto("about:blank");
  run.child.kill("SIGINT");
  await run.done;
  const eps = epochs(file);
  const rows = [];
  for (let c = 0; c < CYCLES; c++) {
    const row = {};
    for (const ph of phases.filter((p) => p.cycle === c)) {
      const inside = eps.filter((e) => e.time - e.epoch_seconds - (e.eval_seconds || 0) >= ph.t0 && e.time <= ph.t1);
      row[ph.open ? "open" : "closed"] = { t: median(inside.map((e) => e.epoch_seconds)), n: inside.length,
        cpu: ph.cpu / (ph.t1 - ph.t0) };
    }
    row.ratio = row.open.t / row.closed.t;
    rows.push(row);
    console.log(`B cycle ${c + 1}/${CYCLES}: page closed ${row.closed.t.toFixed(4)} s (${row.closed.n} epochs), ` +
      `open ${row.open.t.toFixed(4)} s (${row.open.n}), ${pct(row.ratio)}; chromium ` +
      `${(row.closed.cpu * 100).toFixed(1)}% / ${(row.open.cpu * 100).toFixed(1)}% of a core`);
  }
  const ok = rows.filter((r) => isFinite(r.ratio));
  return { closed: median(ok.map((r) => r.closed.t)), open: median(ok.map((r) => r.open.t)),
    ratio: median(ok.map((r) => r.ratio)), cpuClosed: median(ok.map((r) => r.closed.cpu)),
    cpuOpen: median(ok.map((r) => r.open.cpu)), cycles: ok.length,
    below: ok.filter((r) => r.ratio < 1).length };
}

(async () => {
  console.log(`mlpc ${MLPC}; ${os.cpus().length} CPUs; load ${load()}; threads ${process.env.THREADS || "mlpc's choice"}`);
  const a = await partA();
  const ctx = await playwright.chromium.launchPersistentContext(fs.mkdtempSync(path.join(TMP, "p-")), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1600, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const b = await partB(await ctx.newPage());
  await ctx.close();
  console.log(`\nW1 epoch time, medians (load ${load()}):`);
  console.log(`  A. --dashboard, no page, vs without (median of ${PAIRS} pair ratios):  ${pct(a.ratio)}` +
    `   (${a.off.toFixed(4)} s / ${a.on.toFixed(4)} s)`);
  console.log(`  B. one page open vs closed, same run (median of ${b.cycles} cycle ratios): ${pct(b.ratio)}` +
    `   (${b.closed.toFixed(4)} s / ${b.open.toFixed(4)} s; ${b.below} of ${b.cycles} cycles faster with the page)`);
  console.log(`     chromium: ${(b.cpuClosed * 100).toFixed(1)}% of a core on about:blank, ` +
    `${(b.cpuOpen * 100).toFixed(1)}% with the page`);
  console.log(`  A and B together: ${pct(a.ratio * b.ratio)}`);
  fs.rmSync(TMP, { recursive: true, force: true });
})().catch((e) => { console.error(e); fs.rmSync(TMP, { recursive: true, force: true }); process.exit(1); });
