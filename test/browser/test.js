#!/usr/bin/env node
// The chat page (src/chat.html) in a real browser: headless Chromium driven
// by playwright-core.
//
//   1. wshub starts on a free port; two pages (two browser contexts, so two
//      separate users) open http://127.0.0.1:PORT/ and both show "open".
//   2. One page sends a message with the Send button, the other with Enter;
//      both messages reach both pages, the sender included.
//   3. SIGTERM stops the server: both pages show the 1001 close ("going
//      away") and its reason, and wshub exits 0.
//   4. wshub starts again on the same port: both pages reconnect by
//      themselves (status "open" again) and can chat.
//
// Environment:
//   WSHUB         the server binary (default ../../build/wshub)
//   CHROMIUM      the browser (default /usr/bin/chromium, Debian's package)
//   ARTEFACTS     where screenshots go (default ../../build/browser)
//   WSHUB_PIDFILE if set, the pid of the running server is written there, so
//                 a wrapper can kill it even if this process is killed
//
// Output: one "ok"/"FAIL" line per check, then "browser: N passed, M failed".
// Exit status 0 when nothing failed.  The whole run is bounded by
// RUN_TIMEOUT_MS; every wait has its own, shorter timeout.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const ROOT = path.resolve(__dirname, "..", "..");
const WSHUB = path.resolve(ROOT, process.env.WSHUB || "build/wshub");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTEFACTS = path.resolve(ROOT, process.env.ARTEFACTS || "build/browser");
const PIDFILE = process.env.WSHUB_PIDFILE || "";

const RUN_TIMEOUT_MS = 120000;   // the whole test
const START_TIMEOUT_MS = 10000;  // for "wshub: listening on ..."
const STOP_TIMEOUT_MS = 10000;   // from SIGTERM to exit (--shutdown-timeout 1)
const WAIT_MS = 10000;           // any one thing to appear on a page
// The page retries after 0.5, 1, 2, 4, 8 s: the server is back within a
// second or two, so the third or fourth retry at the latest must succeed.
const RECONNECT_MS = 20000;
const LISTENING = /wshub: listening on 127\.0\.0\.1:(\d+)/;

// Chromium must never reach out to the network: besides playwright's own
// switches (--headless, --no-sandbox, --no-first-run,
// --disable-background-networking, --disable-component-update and a fresh
// --user-data-dir under $TMPDIR), these.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let passed = 0;
let failed = 0;
const notes = new Set(); // worth knowing, not failures

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log("ok   " + name);
  } else {
    failed++;
    console.log("FAIL " + name + (detail ? ": " + detail : ""));
  }
  return ok;
}

// Runs `fn` (a promise-returning check); a rejection fails the check.
async function expect(name, fn) {
  try {
    await fn();
    return check(name, true);
  } catch (e) {
    return check(name, false, String(e && e.message ? e.message : e).split("\n")[0]);
  }
}

// ---- the server ------------------------------------------------------------

// A wshub child process; keeps its stderr for the diagnostics.
class Server {
  constructor(port) {
    this.port = port;
    this.lines = [];
    this.proc = null;
    this.exit = null; // {code, signal} once it has exited
  }

  // Starts wshub and resolves with the port from its "listening" line.
  start() {
    return new Promise((resolve, reject) => {
      const args = ["--port", String(this.port), "--shutdown-timeout", "1"];
      const proc = spawn(WSHUB, args, { stdio: ["ignore", "ignore", "pipe"] });
      let buf = "";
      const timer = setTimeout(() => {
        reject(new Error("no 'listening' line within " + START_TIMEOUT_MS + " ms" + this.tail()));
      }, START_TIMEOUT_MS);

      this.proc = proc;
      this.exited = new Promise((done) => {
        proc.on("exit", (code, signal) => {
          this.exit = { code, signal };
          forgetPid(proc.pid);
          clearTimeout(timer);
          reject(new Error("wshub exited (" + describe(this.exit) + ") before listening" + this.tail()));
          done(this.exit);
        });
      });
      proc.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error("cannot start " + WSHUB + ": " + e.message));
      });
      proc.stderr.setEncoding("utf8");
      proc.stderr.on("data", (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          this.lines.push(line);
          const m = LISTENING.exec(line);
          if (m) {
            this.port = Number(m[1]);
            clearTimeout(timer);
            if (PIDFILE) fs.writeFileSync(PIDFILE, String(proc.pid) + "\n");
            resolve(this.port);
          }
        }
      });
    });
  }

  // SIGTERM, then resolves with how it exited (null if it did not in time).
  async stop() {
    if (this.exit) return this.exit;
    this.proc.kill("SIGTERM");
    const timeout = new Promise((done) => setTimeout(done, STOP_TIMEOUT_MS, null));
    const how = await Promise.race([this.exited, timeout]);
    if (how === null) this.kill();
    return how;
  }

  kill() {
    if (this.proc && !this.exit) this.proc.kill("SIGKILL");
  }

  tail() {
    return this.lines.length ? "\n  wshub stderr:\n    " + this.lines.slice(-10).join("\n    ") : "";
  }
}

// Removes the pid file if it names `pid`, so a wrapper never kills a
// process id that has been reused.
function forgetPid(pid) {
  if (!PIDFILE) return;
  try {
    if (fs.readFileSync(PIDFILE, "utf8").trim() === String(pid)) fs.rmSync(PIDFILE);
  } catch (e) {
    // no pid file: nothing to forget
  }
}

function describe(exit) {
  if (!exit) return "no exit within " + STOP_TIMEOUT_MS + " ms";
  return exit.signal ? "signal " + exit.signal : "status " + exit.code;
}

// Starts wshub on `port`; a restart on a fixed port retries for a while in
// case the old socket is not released yet.
async function startServer(port) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const s = new Server(port);
    try {
      await s.start();
      return s;
    } catch (e) {
      s.kill();
      if (port === 0 || Date.now() > deadline) throw e;
      await sleep(200);
    }
  }
}

function sleep(ms) {
  return new Promise((done) => setTimeout(done, ms));
}

// ---- the pages ---------------------------------------------------------------

// Runs in the page before its own script: records every state and text the
// status element shows, because "closed: 1001 ..." lasts only until the
// first reconnect attempt (0.5 s later) and must not be missed.
function recordStatus() {
  window.__statuses = [];
  document.addEventListener("DOMContentLoaded", () => {
    const el = document.getElementById("status");
    const note = () => window.__statuses.push(el.dataset.state + "|" + el.textContent);
    note();
    new MutationObserver(note).observe(el, {
      attributes: true, childList: true, characterData: true, subtree: true,
    });
  });
}

// A browser context (its own storage: a separate user) with one chat page.
async function openPage(browser, name, url, problems) {
  const context = await browser.newContext({ viewport: { width: 640, height: 420 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(name + ": page error: " + e.message));
  page.on("console", (m) => {
    if (m.type() !== "error" || /WebSocket connection to .* failed/.test(m.text()))
      return; // a reconnect attempt while the server is down
    if (/\/favicon\.ico$/.test(m.location().url || "")) {
      notes.add("the page has no icon: every load asks GET /favicon.ico and gets 404");
      return;
    }
    problems.push(name + ": console error: " + m.text());
  });
  await page.addInitScript(recordStatus);
  await page.goto(url, { timeout: WAIT_MS });
  return page;
}

// Waits until the page's status is `state` and its text matches `re`.
function waitStatus(page, state, re, timeout) {
  return page.waitForFunction(
    ([state, source]) => {
      const el = document.getElementById("status");
      return el.dataset.state === state && new RegExp(source).test(el.textContent);
    },
    [state, re.source],
    { timeout: timeout || WAIT_MS, polling: 50 });
}

// Waits until the status history has shown a line matching `re`.
function waitStatusSeen(page, re, timeout) {
  return page.waitForFunction(
    (source) => window.__statuses.some((s) => new RegExp(source).test(s)),
    re.source, { timeout: timeout || WAIT_MS, polling: 50 });
}

// Waits until the log has an entry whose text is exactly `text`.
function waitLogEntry(page, text, timeout) {
  return page.waitForFunction(
    (text) => [...document.querySelectorAll("#log li")].some((li) => li.textContent === text),
    text, { timeout: timeout || WAIT_MS, polling: 50 });
}

// Types `text` into the message box and sends it with the button or Enter.
async function say(page, text, how) {
  await page.getByLabel("Message", { exact: true }).fill(text);
  if (how === "enter")
    await page.getByLabel("Message", { exact: true }).press("Enter");
  else
    await page.getByRole("button", { name: "Send" }).click({ timeout: WAIT_MS });
}

function logTexts(page) {
  return page.$$eval("#log li", (lis) => lis.map((li) => li.textContent));
}

// ---- the test ------------------------------------------------------------------

async function run(state) {
  fs.mkdirSync(ARTEFACTS, { recursive: true });
  state.server = await startServer(0);
  const port = state.server.port;
  const url = "http://127.0.0.1:" + port + "/";
  console.log("# wshub on port " + port + ", Chromium at " + CHROMIUM);

  state.browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30000,
  });
  console.log("# " + (await state.browser.version()));
  const problems = [];
  const a = await openPage(state.browser, "page A", url, problems);
  const b = await openPage(state.browser, "page B", url, problems);
  const pages = [["A", a], ["B", b]];

  // 1. Both pages open.
  check("the page's title is 'wshub chat'", (await a.title()) === "wshub chat");
  for (const [n, p] of pages)
    await expect("page " + n + " shows open", () => waitStatus(p, "open", /^open$/));
  for (const [n, p] of pages)
    await expect("page " + n + ": Send is enabled while open", async () => {
      if (await p.getByRole("button", { name: "Send" }).isDisabled()) throw new Error("disabled");
    });
  await expect("the status is announced (role=status) and names the state", async () => {
    const t = await a.getByRole("status").textContent();
    if (t !== "open") throw new Error("role=status holds '" + t + "'");
  });

  // 2. Chat both ways; the sender gets its own message too.
  await say(a, "hello from A", "button");
  for (const [n, p] of pages)
    await expect("page " + n + " shows A's message (Send button)", () => waitLogEntry(p, "hello from A"));
  await expect("the message box is emptied after sending", async () => {
    const v = await a.getByLabel("Message", { exact: true }).inputValue();
    if (v !== "") throw new Error("still holds '" + v + "'");
  });
  const unicode = "κόσμε — ünïcödé ✓ 😀";
  await say(b, unicode, "enter");
  for (const [n, p] of pages)
    await expect("page " + n + " shows B's UTF-8 message (Enter key)", () => waitLogEntry(p, unicode));
  await a.screenshot({ path: path.join(ARTEFACTS, "open.png") });

  // 3. SIGTERM: both pages see 1001 with the server's reason.
  const stopped = await state.server.stop();
  check("wshub exits 0 on SIGTERM", stopped && stopped.code === 0, describe(stopped) + state.server.tail());
  for (const [n, p] of pages)
    await expect("page " + n + " status showed 'closed: 1001'",
      () => waitStatusSeen(p, /^closed\|closed: 1001 server shutting down/));
  for (const [n, p] of pages)
    await expect("page " + n + " log keeps 'closed: 1001 server shutting down'",
      () => waitLogEntry(p, "closed: 1001 server shutting down"));
  await expect("Send is disabled while not open", async () => {
    if (!(await a.getByRole("button", { name: "Send" }).isDisabled())) throw new Error("enabled");
  });
  await a.screenshot({ path: path.join(ARTEFACTS, "closed.png") });

  // 4. Same port again: both pages come back by themselves.
  state.server = await startServer(port);
  check("wshub restarts on the same port", state.server.port === port);
  for (const [n, p] of pages)
    await expect("page " + n + " reconnects (open again)",
      () => waitStatus(p, "open", /^open$/, RECONNECT_MS));
  await say(b, "back again", "button");
  for (const [n, p] of pages)
    await expect("page " + n + " shows a message sent after the restart", () => waitLogEntry(p, "back again"));
  await expect("page A connected exactly twice", async () => {
    const n = (await logTexts(a)).filter((t) => t.startsWith("connected to ws://")).length;
    if (n !== 2) throw new Error(n + " 'connected' lines");
  });
  await a.screenshot({ path: path.join(ARTEFACTS, "chat.png") });

  // The same page in dark mode, as an artefact to look at.
  await a.emulateMedia({ colorScheme: "dark" });
  await a.screenshot({ path: path.join(ARTEFACTS, "chat-dark.png") });

  const last = await state.server.stop();
  check("wshub exits 0 on the second SIGTERM run", last && last.code === 0, describe(last) + state.server.tail());
  check("no page errors or console errors", problems.length === 0, problems.join("; "));
  for (const n of notes) console.log("# note: " + n);
  console.log("# screenshots in " + path.relative(process.cwd(), ARTEFACTS) + "/");
}

async function cleanup(state) {
  if (state.browser) await state.browser.close().catch(() => {});
  if (state.server) state.server.kill();
  if (PIDFILE) fs.rmSync(PIDFILE, { force: true });
}

async function main() {
  const state = { server: null, browser: null };
  const finish = async (code) => {
    await cleanup(state);
    console.log("browser: " + passed + " passed, " + failed + " failed");
    process.exit(code);
  };
  const timer = setTimeout(() => {
    check("the test finishes within " + RUN_TIMEOUT_MS / 1000 + " s", false);
    finish(1);
  }, RUN_TIMEOUT_MS);
  for (const sig of ["SIGINT", "SIGTERM"])
    process.on(sig, () => { check("not interrupted", false, sig); finish(1); });

  try {
    await run(state);
  } catch (e) {
    check("the test ran to the end", false, e.message + (state.server ? state.server.tail() : ""));
  }
  clearTimeout(timer);
  await finish(failed === 0 ? 0 : 1);
}

main();
