// tests/e2e/dashboard.test.js - end-to-end tests of the live dashboard, the
// progress bar and `mlpc plot`, with node's built-in test runner:
//
//   node --test tests/e2e/          (tests/e2e/run.sh does this for make test)
//
// The browser tests drive Debian's chromium (/usr/bin/chromium, or
// $MLPC_CHROMIUM) through playwright-core from web/node_modules; no browser
// is downloaded. Where chromium is missing they are skipped with the line
// "skipped: chromium not installed". All traffic stays on 127.0.0.1.
"use strict";
const { test, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");

const REPO = path.resolve(__dirname, "..", "..");
const MLPC = process.env.MLPC || path.join(REPO, "build", "mlpc");
const CHROMIUM = process.env.MLPC_CHROMIUM || "/usr/bin/chromium";
const DATA = process.env.MLPC_DATA || path.join(REPO, "data");
const HAVE_MNIST = fs.existsSync(path.join(DATA, "mnist", "train-images-idx3-ubyte")) ||
  fs.existsSync(path.join(DATA, "mnist", "train-images-idx3-ubyte.gz"));
const SHOT = path.join(REPO, "build", "dashboard.png");

let playwright = null;
try {
  playwright = require(path.join(REPO, "web", "node_modules", "playwright-core"));
} catch (e) {
  playwright = null;
}
const browserSkip = !fs.existsSync(CHROMIUM)
  ? "skipped: chromium not installed"
  : !playwright ? "skipped: playwright-core not installed (npm ci --prefix web)" : false;
if (browserSkip) console.log(browserSkip);

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "mlpc-e2e-"));
const children = new Set();
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  fs.rmSync(TMP, { recursive: true, force: true });
});

// Starts mlpc; resolves with {child, url, out()} once it printed "dashboard: URL".
function startWithUrl(args, timeoutMs = 300000, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(MLPC, args, { cwd: REPO, env: { ...process.env, MLPC_DATA: DATA, ...env } });
    children.add(child);
    let out = "";
    const onData = (d) => {
      out += d.toString();
      const m = out.match(/dashboard: (http:\/\/\S+)/);
      if (m && !child.urlSeen) {
        child.urlSeen = true;
        resolve({ child, url: m[1], out: () => out });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      children.delete(child);
      if (!child.urlSeen) reject(new Error(`mlpc exited ${code} before printing a URL:\n${out}`));
    });
    setTimeout(() => {
      if (!child.urlSeen) reject(new Error(`no dashboard URL after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs).unref();
  });
}

function exited(child) {
  return child.exitCode !== null ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.on("exit", (code) => r(code)));
}

// A fresh profile each time (--user-data-dir, given the playwright way).
async function launch() {
  return playwright.chromium.launchPersistentContext(fs.mkdtempSync(path.join(TMP, "chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  }).then((ctx) => {
    // every wait is for an event; its limit only ends a hung test. The page
    // redraws at most every 50 redraw times (web/app.js), so on a slow
    // machine a change can take many seconds to show.
    ctx.setDefaultTimeout(300000);
    return ctx;
  });
}

async function points(page, key) {
  return page.evaluate((k) => {
    const el = document.getElementById("chart-" + k);
    return el ? Number(el.dataset.points || 0) : 0;
  }, key);
}

// Reads /events until done(events) holds (or limitMs passes: a guard
// against a hung server, not a measure of speed) and returns the events.
function readEvents(url, done, limitMs = 300000) {
  return new Promise((resolve, reject) => {
    const u = new URL("events", url);
    const events = [];
    let buf = "";
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      req.destroy();
      resolve(events);
    };
    const req = http.get(u, (res) => {
      res.setEncoding("utf8");
      res.on("data", (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const msg = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of msg.split("\n"))
            if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)));
        }
        if (done(events)) finish();
      });
      res.on("error", () => {});
    });
    req.on("error", (e) => { if (!finished) reject(e); });
    const guard = setTimeout(finish, limitMs);
  });
}

function run(args, opts = {}) {
  return spawnSync(MLPC, args, { cwd: REPO, encoding: "utf8", env: { ...process.env, MLPC_DATA: DATA },
    timeout: 600000, ...opts });
}

// A training run that does not end by itself (a million epochs): the test
// stops it with SIGINT once it has seen what it looks for, so the page is
// sampled while the run is running on a machine of any speed.
function endlessTraining(extra) {
  if (HAVE_MNIST)
    return ["train", "--data", "mnist", "--layers", "784-30-10", "--act", "sigmoid", "--out-act",
      "sigmoid", "--loss", "quadratic", "--opt", "sgd", "--lr", "3", "--batch", "10", "--epochs",
      "1000000", "--init", "normal", "--val-split", "10000", "--run", "w1", ...extra];
  return ["train", "--data", "lorenz", "--layers", "3-256-256-3", "--act", "relu", "--loss", "mse",
    "--opt", "adam", "--batch", "1", "--epochs", "1000000", "--run", "lorenz", ...extra];
}

test("train --dashboard: the page's loss figure gains points while training runs", {
  skip: browserSkip, timeout: 600000,
}, async () => {
  const metrics = path.join(TMP, "live.jsonl");
  const { child, url, out } = await startWithUrl(endlessTraining(
    ["--dashboard=0", "--metrics", metrics, "--linger", "-1"]));
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(url);
    // the run cannot end before the test stops it: wait for two figures
    // taken while it runs, the second with more points than the first
    const running = async () => (await page.locator("#runs .st.running").count()) >= 1;
    await page.waitForFunction(() => {
      const el = document.getElementById("chart-loss");
      return el && Number(el.dataset.points) > 0;
    }, null, { timeout: 300000 });
    assert.ok(await running(), "the run is listed as running");
    const first = await points(page, "loss");
    await page.waitForFunction((n) => Number(document.getElementById("chart-loss").dataset.points) > n,
      first, { timeout: 300000 });
    assert.ok(await running(), "the loss figure gained points while the run was running");
    assert.equal(child.exitCode, null, "mlpc is still training");
    assert.equal(await page.locator("#conn.live").count(), 1, "the page says it is live");
    // every figure is there and the run is listed
    for (const k of ["loss", "acc", "lr", "sps", "secs", "wrms", "grms"])
      assert.equal(await page.locator("#chart-" + k).count(), 1, `figure ${k}`);
    assert.ok(await points(page, "wrms") > 0, "per-layer weight RMS has points");
    // the log-scale toggle redraws the loss figure with a log axis
    await page.check("#logloss");
    await page.waitForFunction(() => /log scale/.test(document.querySelector("#chart-loss .u-title").textContent));
    // Ctrl-C: training stops at the next batch, the page shows the run
    // stopped and stays up (--linger -1) until a second signal
    child.kill("SIGINT");
    await page.waitForFunction(() => document.querySelector("#runs .st.stopped") !== null, null,
      { timeout: 300000 });
    fs.mkdirSync(path.dirname(SHOT), { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true });
    assert.deepEqual(problems, [], "no errors in the page's console (CSP included)");
    console.log(`screenshot: ${path.relative(REPO, SHOT)}`);
    await shot(page, "train-live.png");
    child.kill("SIGINT");
    assert.equal(await exited(child), 130, "exit 130 after Ctrl-C");
    assert.match(out(), /stopped: interrupted/, out());
  } finally {
    await browser.close();
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited(child);
  }
});

test("dashboard DIR: the page reconnects by itself after the server restarts", {
  skip: browserSkip, timeout: 600000,
}, async () => {
  const dir = path.join(TMP, "restart");
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "a.jsonl"),
    [1, 2, 3].map((e) => JSON.stringify({ run: "a", epoch: e, loss: 1 / e, acc: 0.5 + e / 10,
      val_loss: 1.2 / e, val_acc: 0.4 + e / 10, lr: 0.1 })).join("\n") + "\n");
  let srv = await startWithUrl(["dashboard", dir, "--port", "0"]);
  const port = new URL(srv.url).port;
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(srv.url);
    await page.waitForSelector("#conn.live");
    await page.waitForFunction(() => Number(document.getElementById("chart-loss").dataset.points) === 6);
    srv.child.kill("SIGTERM");
    assert.equal(await exited(srv.child), 0, "mlpc dashboard exits 0 on SIGTERM");
    await page.waitForSelector("#conn.down", { timeout: 300000 });
    // the figures keep what they had while the server is away
    assert.equal(await points(page, "loss"), 6);
    srv = await startWithUrl(["dashboard", dir, "--port", port]);
    await page.waitForSelector("#conn.live", { timeout: 300000 });
    await page.waitForFunction(() => Number(document.getElementById("chart-loss").dataset.points) === 6);
  } finally {
    await browser.close();
    srv.child.kill("SIGTERM");
    await exited(srv.child);
  }
});

test("dashboard DIR: a long run is drawn with at most four points per pixel column, spikes kept, every point downloaded", {
  skip: browserSkip, timeout: 600000,
}, async () => {
  const dir = path.join(TMP, "long");
  fs.mkdirSync(dir);
  const N = 20000, SPIKE = 12345;
  const lines = [];
  for (let e = 1; e <= N; e++) {
    lines.push(JSON.stringify({ run: "long", epoch: e, loss: e === SPIKE ? 100 : 1 + Math.sin(e) / 10,
      acc: 0.5, val_loss: 1.5, val_acc: 0.5, lr: 0.1 }));
  }
  fs.writeFileSync(path.join(dir, "long.jsonl"), lines.join("\n") + "\n");
  const srv = await startWithUrl(["dashboard", dir, "--port", "0"]);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(srv.url);
    await page.waitForFunction((n) => Number(document.getElementById("chart-loss").dataset.points) === n, 2 * N);
    const got = await page.evaluate(() => {
      const c = window.mlpcDash.charts.get("loss");
      return { drawn: Number(c.div.dataset.drawn), width: c.u.width, max: Math.max(...c.u.data[1].filter((y) => y !== null)),
        last: c.u.data[0][c.u.data[0].length - 1], first: c.u.data[0][0] };
    });
    assert.ok(got.drawn < N / 2, `drawn ${got.drawn} of ${N} epochs`);
    assert.ok(got.drawn <= 8 * got.width + 8, `drawn ${got.drawn} for ${got.width} px`);
    assert.equal(got.max, 100, "the spike is drawn");
    assert.equal(got.first, 1);
    assert.equal(got.last, N);
    const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#chart-loss .dl.csv")]);
    const text = fs.readFileSync(await csv.path(), "utf8").trim().split("\n");
    assert.equal(text.length, N + 1, "the CSV has every epoch");
    assert.equal(text[SPIKE].split(",")[1], "100");
  } finally {
    await browser.close();
    srv.child.kill("SIGTERM");
    await exited(srv.child);
  }
});

const HAVE_SQLITE3 = spawnSync("sqlite3", ["-version"]).status === 0;

// The search database's schema as mlpc search writes it: the string
// literals of MLPC_SEARCH_SCHEMA_SQL in src/core/searchdb.h.
const SCHEMA = (() => {
  const h = fs.readFileSync(path.join(REPO, "src", "core", "searchdb.h"), "utf8");
  const version = h.match(/#define MLPC_SEARCH_SCHEMA_VERSION_STR "(\d+)"/)[1];
  const body = h.slice(h.indexOf("#define MLPC_SEARCH_SCHEMA_SQL"), h.indexOf("/* What the dashboard reads"));
  return body.replace(/" MLPC_SEARCH_SCHEMA_VERSION_STR "/g, version)
    .match(/"((?:[^"\\]|\\.)*)"/g).map((q) => q.slice(1, -1)).join("");
})();
const E2E_DIR = path.join(REPO, "build", "e2e");
async function shot(page, name) {
  fs.mkdirSync(E2E_DIR, { recursive: true });
  const file = path.join(E2E_DIR, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${path.relative(REPO, file)}`);
}

test("dashboard STUDY.db: a trial run again after its worker died starts over on the page", {
  skip: browserSkip || (HAVE_SQLITE3 ? false : "skipped: sqlite3 not installed"), timeout: 600000,
}, async () => {
  // the tables the dashboard reads, written as mlpc search does (src/search/studydb.c)
  const db = path.join(TMP, "retry.db");
  const sql = (q) => {
    const r = spawnSync("sqlite3", [db, q], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  };
  const rows = (n, loss) => Array.from({ length: n }, (_, i) =>
    `INSERT INTO metrics VALUES(1, ${i + 1}, ${loss / (i + 1)}, NULL, 1, 1, NULL, 1, 0.01);`).join("");
  sql("PRAGMA journal_mode=WAL;" + SCHEMA +
    "INSERT INTO studies(id, name) VALUES(1, 'r');" +
    "INSERT INTO trials(id, study_id, number, state, params, attempts)" +
    " VALUES(1, 1, 0, 'running', '{\"layers\":\"3-8-3\"}', 1);" + rows(5, 1));
  const { child, url } = await startWithUrl(["dashboard", db, "--port", "0"]);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => /epoch 5\b/.test(document.getElementById("runs").textContent));
    assert.equal(await points(page, "loss"), 10, "5 epochs, training and validation");
    // --retry: requeued (its rows deleted), then run again; 2 epochs so far
    sql("UPDATE trials SET state='queued' WHERE id=1; DELETE FROM metrics WHERE trial_id=1;");
    sql("UPDATE trials SET state='running', attempts=2 WHERE id=1;" + rows(2, 0.5));
    await page.waitForFunction(() => /epoch 2\b/.test(document.getElementById("runs").textContent),
      null, { timeout: 300000 });
    await page.waitForFunction(() => Number(document.getElementById("chart-loss").dataset.points) === 4,
      null, { timeout: 300000 });
    assert.equal((await page.textContent("#runs")).match(/epoch \d+/g).join(), "epoch 2");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    child.kill("SIGTERM");
    await exited(child);
  }
});

test("dashboard DIR: finished runs from files, a new run file appears live", { timeout: 600000 }, async () => {
  const dir = path.join(TMP, "watch");
  fs.mkdirSync(path.join(dir, "trials"), { recursive: true });
  const line = (run, e) => JSON.stringify({ run, epoch: e, loss: 1 / e, acc: 0.9, val_loss: 1 / e,
    val_acc: 0.8, lr: 0.01, epoch_seconds: 0.1, samples_per_second: 1000 }) + "\n";
  fs.writeFileSync(path.join(dir, "old.jsonl"), line("old", 1) + line("old", 2));
  const { child, url } = await startWithUrl(["dashboard", dir, "--port", "0"]);
  try {
    let ev = await readEvents(url, (e) => e.filter((x) => x.type === "epoch").length >= 2);
    const runs = ev.filter((e) => e.type === "run");
    assert.equal(ev[0].type, "hello");
    assert.ok(runs.some((r) => r.name === "old"), "the finished run is listed");
    assert.equal(ev.filter((e) => e.type === "epoch").length, 2);
    // a trial of a running search: a new file, then more lines
    fs.writeFileSync(path.join(dir, "trials", "t1.jsonl"), line("t1", 1));
    const t1Epochs = (n) => (e) => {
      const r = e.filter((x) => x.type === "run" && x.name === "t1");
      return r.length > 0 && e.filter((x) => x.type === "epoch" && x.run === r[0].id).length >= n;
    };
    await readEvents(url, t1Epochs(1)); // the server has read the new file
    fs.appendFileSync(path.join(dir, "trials", "t1.jsonl"), line("t1", 2));
    ev = await readEvents(url, t1Epochs(2));
    const t1 = ev.filter((e) => e.type === "run" && e.name === "t1");
    assert.ok(t1.length >= 1, "the new file's run is announced");
    assert.equal(t1[t1.length - 1].status, "running", "a growing file is a running run");
    assert.equal(ev.filter((e) => e.type === "epoch" && e.run === t1[0].id).length, 2);
  } finally {
    child.kill("SIGTERM");
    await exited(child);
  }
});

test("dashboard flags: a non-loopback bind without a token is refused before anything starts", () => {
  const r = run(["train", "--data", "lorenz", "--layers", "3-4-3", "--dashboard", "--bind", "0.0.0.0",
    "--token", ""]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^mlpc train: --bind 0\.0\.0\.0: an address that is not loopback needs a token/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  const bad = run(["train", "--data", "lorenz", "--layers", "3-4-3", "--dashboard=70000"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--dashboard=70000: the port must be 0-65535/);
  const host = run(["dashboard", TMP, "--bind", "example.com"]);
  assert.equal(host.status, 2);
  assert.match(host.stderr, /--bind example\.com: not an IPv4 or IPv6 address/);
});

test("progress: a bar on a terminal, one line per epoch otherwise, nothing with --quiet", () => {
  const args = ["train", "--data", "lorenz", "--layers", "3-64-3", "--act", "relu", "--loss", "mse",
    "--opt", "adam", "--batch", "1", "--epochs", "3"];
  // a pseudo-terminal from script(1): the bar is drawn with carriage returns
  const cmd = [MLPC, ...args].map((a) => `'${a}'`).join(" ");
  const tty = spawnSync("script", ["-qfec", cmd, "/dev/null"], { cwd: REPO, encoding: "utf8",
    env: { ...process.env, COLUMNS: "100" }, timeout: 600000 });
  assert.equal(tty.status, 0, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /\repoch 1\/3 +\d+\/900 \[[=>.]+\] ETA [0-9.:]+s?  loss/);
  assert.match(tty.stdout, /epoch 3\/3  loss/);
  // not a terminal: one plain line per epoch, no bar
  const plain = run(args);
  assert.equal(plain.status, 0);
  assert.equal(plain.stderr, "");
  assert.equal(plain.stdout.split("\n").filter((l) => /^epoch \d\/3/.test(l)).length, 3);
  assert.ok(!plain.stdout.includes("\r"));
  const quiet = run([...args, "--quiet"]);
  assert.equal(quiet.status, 0);
  assert.equal(quiet.stdout + quiet.stderr, "");
  const qtty = spawnSync("script", ["-qfec", cmd + " --quiet", "/dev/null"], { cwd: REPO,
    encoding: "utf8", timeout: 600000 });
  assert.equal(qtty.stdout.trim(), "", "--quiet draws no bar on a terminal");
});

test("plot: PNG, SVG and PDF from metrics files; errors name the file", () => {
  const m = path.join(TMP, "plot.jsonl");
  const tr = run(["train", "--data", "lorenz", "--layers", "3-16-16-3", "--act", "relu", "--loss", "mse",
    "--opt", "adam", "--batch", "10", "--epochs", "8", "--metrics", m, "--layer-stats", "--run", "a",
    "--quiet"]);
  assert.equal(tr.status, 0, tr.stderr);
  const first = fs.readFileSync(m, "utf8").split("\n")[0];
  assert.match(first, /"w_rms":\[[^\]]+\],"g_rms":\[[^\]]+\]\}$/, "--layer-stats adds per-layer RMS");
  const magic = { png: Buffer.from([0x89, 0x50, 0x4e, 0x47]), svg: Buffer.from("<?xml"), pdf: Buffer.from("%PDF") };
  for (const ext of ["png", "svg", "pdf"]) {
    const out = path.join(TMP, "curves." + ext);
    const r = run(["plot", m, "-o", out]);
    assert.equal(r.status, 0, r.stderr);
    const head = fs.readFileSync(out).subarray(0, magic[ext].length);
    assert.deepEqual(head, magic[ext], ext + " header");
    assert.ok(fs.statSync(out).size > 2000, ext + " has content");
  }
  const ext = run(["plot", m, "-o", path.join(TMP, "x.gif")]);
  assert.equal(ext.status, 2);
  assert.match(ext.stderr, /^mlpc plot: -o .*x\.gif: use a \.png, \.svg or \.pdf file name\n$/);
  const missing = run(["plot", path.join(TMP, "nope.jsonl"), "-o", path.join(TMP, "y.png")]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^mlpc plot: .*nope\.jsonl: No such file or directory\n$/);
  fs.writeFileSync(path.join(TMP, "bad.jsonl"), "{\"epoch\":1}\nnot json\n");
  const bad = run(["plot", path.join(TMP, "bad.jsonl"), "-o", path.join(TMP, "z.png")]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /bad\.jsonl:2: not a JSON object/);
});

// The processes of a search other than its dashboard: the coordinator and
// its workers (children whose first argument is not "dashboard").
function searchPids(pid) {
  const kids = (p) => {
    try { return fs.readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean); }
    catch (e) { return []; }
  };
  const argv1 = (p) => {
    try { return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0")[1]; } catch (e) { return ""; }
  };
  return [String(pid)].concat(kids(pid).filter((k) => argv1(k) !== "dashboard"));
}
function signalAll(pids, sig) { for (const p of pids) { try { process.kill(Number(p), sig); } catch (e) { /* gone */ } } }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("search --dashboard: the study view follows a live search, keeps pruned trials, and stays up after it with --linger", {
  skip: browserSkip || (HAVE_SQLITE3 ? false : "skipped: sqlite3 not installed"), timeout: 600000,
}, async () => {
  const space = path.join(TMP, "asha.json");
  const db = path.join(TMP, "asha.db");
  // ASHA keeps 1 of 2 at each rung: with 8 trials some are pruned at once,
  // others train on for thousands of epochs. The search dispatches no trial
  // before its dashboard has printed the URL (srch_opts.on_ready), and
  // trial 0 stops its worker after its first epoch (MLPC_SEARCH_HOLD) until
  // the SIGCONT below, so a trial is running when the page is looked at
  // however fast the trials go
  fs.writeFileSync(space, JSON.stringify({
    study: "live", data: "lorenz", norm: "standard", sampler: "random", trials: 8, seed: 5,
    pruner: { type: "asha", min_epochs: 2, eta: 2 },
    params: { hidden: [[32, 32], [16]], epochs: 3000, batch: 10, act: "relu", opt: "adam",
              lr: { min: 0.0001, max: 0.01, log: true } } }));
  const { child, url, out } = await startWithUrl(["search", space, "--db", db, "--workers", "2",
    "--oversubscribe", "--dashboard=0", "--linger", "-1", "--quiet"], undefined, { MLPC_SEARCH_HOLD: "1" });
  const running = () => {
    const r = spawnSync("sqlite3", [db, "SELECT count(*) FROM trials WHERE state='running'"], { encoding: "utf8" });
    return r.status === 0 && Number(r.stdout.trim()) > 0;
  };
  // hold the search still while a trial is running (thawed in short steps
  // until one is), so the page is looked at during the search on any machine
  let pids = searchPids(child.pid);
  signalAll(pids, "SIGSTOP");
  for (let i = 0; i < 3000 && !running(); i++) {
    signalAll(pids, "SIGCONT"); await sleep(50); pids = searchPids(child.pid); signalAll(pids, "SIGSTOP");
  }
  assert.ok(running(), "a trial runs");
  let release = null;
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector("table.trials tr[data-state=running]") !== null,
      null, { timeout: 300000 });
    // one column per parameter that varies (lr, drawn log-uniformly; all of them for one trial)
    const heads = await page.$$eval("table.trials th", (ths) => ths.map((t) => t.textContent));
    assert.ok(heads.includes("lr") && heads.includes("state") &&
      heads.includes("epochs") && heads.includes("wall s"), heads.join());
    assert.match(await page.textContent("#study .ssum"), /running/);
    await shot(page, "study-live.png");
    // from here the search runs freely: trial 0's worker may reach its hold
    // only after this, so it is continued again until the search ends
    signalAll(searchPids(child.pid), "SIGCONT");
    release = setInterval(() => signalAll(searchPids(child.pid), "SIGCONT"), 100);
    // a pruned trial appears, labelled with its rung, and stays
    await page.waitForFunction(() => document.querySelector("table.trials tr[data-state=pruned]") !== null,
      null, { timeout: 300000 });
    assert.match(await page.textContent("table.trials tr[data-state=pruned]"), /pruned at rung \d+ \(epoch \d+\)/);
    // the search ends; the page stays up (--linger -1) and shows every trial
    await new Promise((resolve) => {
      const t = setInterval(() => { if (/still serving/.test(out())) { clearInterval(t); resolve(); } }, 200);
    });
    await page.waitForFunction(() => /\(finished\)/.test(document.querySelector("#study .stitle").textContent),
      null, { timeout: 300000 });
    const states = await page.$$eval("table.trials tbody tr", (rs) => rs.map((r) => r.dataset.state));
    assert.equal(states.length, 8, states.join());
    assert.ok(states.includes("pruned") && states.includes("complete"), states.join());
    assert.equal(await page.locator("#conn.live").count(), 1, "the page is still live");
    // history, parallel coordinates and rungs have every trial with a value
    assert.equal(Number(await page.getAttribute("#study [id^=history-] .sbody", "data-points")), 8);
    assert.equal(Number(await page.getAttribute("canvas.parcoords", "data-lines")), 8);
    assert.ok(await page.locator("table.rungs tbody tr").count() >= 3, "ASHA rungs listed");
    assert.equal(await page.locator("#study [id^=health-]:not([hidden])").count(), 1, "search health shown");
    // a click on a row highlights the trial's curves and its entry in the run list
    await page.click("table.trials tr[data-state=pruned]");
    await page.waitForFunction(() => document.querySelector("#runs li.hl") !== null);
    await shot(page, "study-finished.png");
    // a page opened after the search ended gets the whole study
    const again = await browser.newPage();
    await again.goto(url);
    await again.waitForFunction(() => document.querySelectorAll("table.trials tbody tr").length === 8,
      null, { timeout: 300000 });
    assert.deepEqual(problems, []);
    child.kill("SIGTERM");
    assert.equal(await exited(child), 0, out());
    // mlpc plot STUDY.db: the same study drawn with cairo
    fs.mkdirSync(E2E_DIR, { recursive: true });
    const fig = path.join(E2E_DIR, "study-plot.png");
    const pr = run(["plot", db, "-o", fig]);
    assert.equal(pr.status, 0, pr.stderr);
    assert.equal(fs.readFileSync(fig).subarray(1, 4).toString(), "PNG");
    console.log(`figure: ${path.relative(REPO, fig)}`);
  } finally {
    if (release) clearInterval(release);
    await browser.close();
    signalAll(searchPids(child.pid), "SIGCONT");
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited(child);
  }
});

test("reading aids: separate loss axes, 20+ colours, filter, smoothing, x axis, log lr, CSV and PNG downloads", {
  skip: browserSkip, timeout: 600000,
}, async () => {
  const dir = path.join(TMP, "aids");
  fs.mkdirSync(dir, { recursive: true });
  const lines = (run, regress, k) => Array.from({ length: 6 }, (_, i) => JSON.stringify(Object.assign(
    { run, epoch: i + 1, time: 1e9 + 10 * (i + 1), epoch_seconds: 10, loss: (k + 1) / (i + 1), val_loss: (k + 2) / (i + 1), lr: 0.001 },
    regress ? { mse: 1 / (i + 1), val_mse: 2 / (i + 1) } : { acc: 0.5 + i / 20, val_acc: 0.5 + i / 25 }))).join("\n") + "\n";
  for (let k = 0; k < 23; k++) fs.writeFileSync(path.join(dir, `c${k}.jsonl`), lines(`c${k}`, false, k));
  fs.writeFileSync(path.join(dir, "reg.jsonl"), lines("reg", true, 0));
  const { child, url } = await startWithUrl(["dashboard", dir, "--port", "0"]);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll("#runs li").length === 24);
    // 24 runs, 24 colours
    const colours = await page.$$eval("#runs .swatch", (s) => s.map((e) => e.style.background));
    assert.equal(new Set(colours).size, 24, colours.join());
    // classification and regression losses on separate figures
    await page.waitForFunction(() => !document.getElementById("chart-lossr").hidden);
    assert.match(await page.textContent("#chart-loss .u-title"), /classification/);
    assert.match(await page.textContent("#chart-lossr .u-title"), /regression/);
    assert.equal(await points(page, "lossr"), 12, "the regression run alone: 6 training + 6 validation");
    assert.match(await page.textContent("#chart-loss .key"), /colour: run.*training set.*validation set/);
    // the learning rate on a log axis by default
    assert.match(await page.textContent("#chart-lr .u-title"), /log scale/);
    // the filter box
    await page.fill("#filter", "reg");
    await page.waitForFunction(() => /1 of 24/.test(document.getElementById("nruns").textContent));
    // one kind of run left: one loss figure, without the split
    await page.waitForFunction(() => document.getElementById("chart-lossr").hidden &&
      document.querySelector("#chart-loss .u-title").textContent === "Loss");
    await page.fill("#filter", "");
    // smoothing: a faint raw curve behind each smoothed one
    await page.$eval("#smooth", (e) => { e.value = "0.6"; e.dispatchEvent(new Event("input")); });
    await page.waitForFunction(() => /faint: raw/.test(document.querySelector("#chart-loss .key").textContent));
    // x axis as wall time
    await page.selectOption("#xmode", "wall");
    await page.waitForFunction(() => /wall time/.test(document.getElementById("chart-lossr").textContent));
    // downloads
    const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#chart-lossr .dl.csv")]);
    const text = fs.readFileSync(await csv.path(), "utf8");
    assert.match(text.split("\n")[0], /^wall time \(s\),reg raw,reg,reg val raw,reg val$/);
    assert.equal(text.trim().split("\n").length, 7, text);
    const [png] = await Promise.all([page.waitForEvent("download"), page.click("#chart-lossr .dl.png")]);
    assert.equal(fs.readFileSync(await png.path()).subarray(1, 4).toString(), "PNG");
    assert.deepEqual(problems, []);
    await shot(page, "runs-overlay.png");
  } finally {
    await browser.close();
    child.kill("SIGTERM");
    await exited(child);
  }
});
