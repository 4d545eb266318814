// bench/dashboard/overhead.js - measures what the live dashboard costs training:
// W1 (scripts/quickstart.sh's net) epoch time without --dashboard and with
// --dashboard plus one page open in headless chromium, interleaved runs.
//
//   node bench/dashboard/overhead.js [ROUNDS] [EPOCHS]      (default 6 rounds x 6 epochs)
//
// Epoch 1 of every run is left out (the page is still opening then). Prints
// the median epoch_seconds of each setting and the difference. Not part of
// `make test`: it takes minutes and needs a quiet machine to mean much.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const REPO = path.resolve(__dirname, "..", "..");
const MLPC = process.env.MLPC || path.join(REPO, "build", "mlpc");
const CHROMIUM = process.env.MLPC_CHROMIUM || "/usr/bin/chromium";
const ROUNDS = Number(process.argv[2] || 6);
const EPOCHS = Number(process.argv[3] || 6);
const playwright = require(path.join(REPO, "web", "node_modules", "playwright-core"));
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "mlpc-overhead-"));

const W1 = ["train", "--data", "mnist", "--layers", "784-30-10", "--act", "sigmoid", "--out-act",
  "sigmoid", "--loss", "quadratic", "--opt", "sgd", "--lr", "3.0", "--batch", "10", "--init", "normal",
  "--val-split", "10000", "--epochs", String(EPOCHS)];

function train(extra, onUrl) {
  return new Promise((resolve, reject) => {
    const child = spawn(MLPC, [...W1, ...extra], { cwd: REPO });
    let out = "";
    let seen = false;
    const feed = (d) => {
      out += d;
      const m = out.match(/dashboard: (http:\/\/\S+)/);
      if (m && !seen) { seen = true; onUrl(m[1]); }
    };
    child.stdout.on("data", feed);
    child.stderr.on("data", feed);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(out))));
  });
}

function epochTimes(file) {
  return fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l))
    .filter((r) => r.epoch > 1).map((r) => r.epoch_seconds);
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

(async () => {
  const ctx = await playwright.chromium.launchPersistentContext(fs.mkdtempSync(path.join(TMP, "p-")), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1600, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await ctx.newPage();
  const off = [], on = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = path.join(TMP, `off${r}.jsonl`), b = path.join(TMP, `on${r}.jsonl`);
    const order = r % 2 ? ["on", "off"] : ["off", "on"]; // alternate which goes first
    for (const which of order) {
      if (which === "off") {
        await train(["--metrics", a], () => {});
        off.push(...epochTimes(a));
      } else {
        let opened = null;
        await train(["--metrics", b, "--dashboard=0"], (url) => { opened = page.goto(url); });
        if (opened) await opened.catch(() => {});
        on.push(...epochTimes(b));
        const pts = await page.evaluate(() => Number(document.getElementById("chart-loss")?.dataset.points || 0));
        if (!(pts > 0)) console.log(`round ${r}: the page had no loss points`);
      }
    }
    console.log(`round ${r + 1}/${ROUNDS}: median so far off ${median(off).toFixed(4)} s, ` +
      `on ${median(on).toFixed(4)} s`);
  }
  await ctx.close();
  const mo = median(off), mn = median(on);
  console.log(`W1 epoch time, median of ${off.length} / ${on.length} epochs (epoch 1 left out):`);
  console.log(`  without --dashboard:             ${mo.toFixed(4)} s`);
  console.log(`  --dashboard, one page open:      ${mn.toFixed(4)} s`);
  console.log(`  difference: ${((mn / mo - 1) * 100).toFixed(1)} %`);
  const sorted = (a) => [...a].sort((x, y) => x - y);
  const q = (a, p) => sorted(a)[Math.floor(p * (a.length - 1))];
  console.log(`  quartiles off ${q(off, 0.25).toFixed(4)}-${q(off, 0.75).toFixed(4)} s, ` +
    `on ${q(on, 0.25).toFixed(4)}-${q(on, 0.75).toFixed(4)} s`);
  fs.rmSync(TMP, { recursive: true, force: true });
})().catch((e) => { console.error(e); process.exit(1); });
