#!/usr/bin/python3
"""The chat page (src/chat.html) in a real browser: Debian's headless
Chromium, driven over the Chrome DevTools Protocol (CDP) with Debian's
python3-websockets.  Nothing else: no npm, no browser download.

Usage:
    /usr/bin/python3 test/browser/run.py

  1. wshub starts on a free port; two pages (two browser contexts, so two
     separate users) open http://127.0.0.1:PORT/ and both show "open".
  2. One page sends a message with the Send button, the other with Enter;
     both messages reach both pages, the sender included.
  2b. A third page opens in room "blue" (#room=blue): the lobby and blue do
     not hear each other; then it joins the lobby with the Room box and
     hears it.
  2c. Page A opens "See the threads": the hub, and a reader and a writer
     (with its queue bar) for each of the two connections.
  3. SIGTERM stops the server: both pages show the 1001 close ("going
     away") and its reason, and wshub exits 0.
  4. wshub starts again on the same port: both pages reconnect by
     themselves (status "open" again) and can chat.
  5. Two wshub processes joined through a real redis-server: a page on
     each hub in room "red" hear each other, once; a page in room "blue"
     on the second hub hears nothing of red, nor red of blue.

Environment:
    WSHUB      the server binary (default build/wshub)
    CHROMIUM   the browser (default /usr/bin/chromium, Debian's package)
    ARTEFACTS  where the screenshots go (default build/browser)
Relative paths are taken from the repository root.

Output: one "ok"/"FAIL" line per check, then "browser: N passed, M
failed"; exit status 0 when nothing failed.  Every wait polls every 50 ms
up to its own bound (no check asserts on time), and the whole run is cut
at RUN_TIMEOUT_S.  Chromium (its whole process group) and wshub are killed
on every exit path, SIGINT and SIGTERM included, and Chromium's profile, a
fresh temporary directory, is removed.  Both get a parent-death signal, so
even a SIGKILL of this runner leaves neither behind.

Threads: the asyncio loop on the main thread does everything (the CDP
connection, the pages, starting wshub) except waiting for wshub to exit
after SIGTERM, which runs on a worker thread so page events keep flowing;
wshub_process drains each server's stderr on a thread of its own.
"""

import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from wshub_process import (STOP_TIMEOUT_S, WshubProcess, describe_status,  # noqa: E402
                           make_tls_pair, wshub_path)

RUN_TIMEOUT_S = 120.0    # the whole test
LAUNCH_TIMEOUT_S = 30.0  # Chromium writes DevToolsActivePort
START_TIMEOUT_S = 10.0   # a restart on the same port retries this long
WAIT_S = 10.0            # any one thing to appear on a page
# The page retries after 0.5, 1, 2, 4, 8 s: the server is back within a
# second or two, so the third or fourth retry at the latest must succeed.
RECONNECT_S = 20.0
CLEANUP_S = 5.0          # Browser.close, then SIGKILL to the process group
POLL_S = 0.05            # every wait polls this often
VIEWPORT = {"width": 640, "height": 420}
WSHUB_FLAGS = ["--shutdown-timeout", "1"]
# util-linux's setpriv execs wshub or Chromium with a parent-death signal:
# should the runner itself be killed, even by SIGKILL, they go too.  The
# signal follows the thread that started them: the main thread here.
DIE_WITH_RUNNER = ["setpriv", "--pdeathsig", "KILL", "--"]

# Chromium must never reach out to the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--ignore-certificate-errors",  # the TLS scenario's throwaway certificate
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Runs in each page before its own script: records every state and text
# the status element shows, because "closed: 1001 ..." lasts only until the
# first reconnect attempt (0.5 s later) and must not be missed.
RECORD_STATUS = """
window.__statuses = [];
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("status");
  const note = () => window.__statuses.push(el.dataset.state + "|" + el.textContent);
  note();
  new MutationObserver(note).observe(el, {
    attributes: true, childList: true, characterData: true, subtree: true,
  });
});
"""

class CheckFailed(Exception):
    """A check's expectation did not hold; str() says what happened."""


def root_path(path):
    return os.path.join(ROOT, path)  # an absolute path stays as it is


# ------------------------------------------------------------------ the checks

class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.notes = set()  # worth knowing, not failures

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   " + name, flush=True)
        else:
            self.failed += 1
            print("FAIL " + name + (": " + detail if detail else ""), flush=True)
        return ok

    async def expect(self, name, coro):
        """Awaits coro (a check); CheckFailed fails the check."""
        try:
            await coro
        except CheckFailed as e:
            return self.check(name, False, str(e).split("\n")[0])
        return self.check(name, True)


# ------------------------------------------------------------------ the protocol

class Cdp:
    """One WebSocket to the browser.  Each page's commands and events travel
    on it too, tagged with the page's session id (Target.attachToTarget
    with flatten).  The reader task answers callers and feeds listeners."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.pending = {}     # id -> future of its reply
        self.listeners = {}   # (session id, method) -> [callable(params)]
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, url):
        ws = await websockets.connect(url, max_size=None, ping_interval=None,
                                      open_timeout=WAIT_S, close_timeout=1)
        return cls(ws)

    async def send(self, method, params=None, session=None, timeout=WAIT_S):
        """A command's result; CheckFailed on an error or no answer."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        reply = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = reply
        try:
            await self.ws.send(json.dumps(msg))
            return await asyncio.wait_for(reply, timeout)
        except asyncio.TimeoutError:
            raise CheckFailed("%s: no answer within %g s" % (method, timeout))
        except websockets.ConnectionClosed:
            raise CheckFailed("%s: the browser closed the DevTools connection" % method)
        finally:
            self.pending.pop(msg["id"], None)

    def on(self, session, method, fn):
        self.listeners.setdefault((session, method), []).append(fn)

    async def _read(self):
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if "id" in msg:
                    reply = self.pending.get(msg["id"])
                    if reply is None or reply.done():
                        continue
                    if "error" in msg:
                        reply.set_exception(CheckFailed(
                            "CDP error: %s" % msg["error"].get("message")))
                    else:
                        reply.set_result(msg.get("result", {}))
                    continue
                key = (msg.get("sessionId"), msg.get("method"))
                for fn in self.listeners.get(key, []):
                    fn(msg.get("params", {}))
        except websockets.ConnectionClosed:
            pass
        finally:
            for reply in self.pending.values():
                if not reply.done():
                    reply.set_exception(CheckFailed(
                        "the browser closed the DevTools connection"))

    async def close(self):
        self.reader.cancel()
        await self.ws.close()


# ------------------------------------------------------------------ the browser

class Browser:
    """Chromium as a child process, in a process group of its own, with a
    fresh profile in a temporary directory."""

    def __init__(self, path):
        self.path = path
        self.tmp = tempfile.mkdtemp(prefix="wshub-browser.")
        self.profile = os.path.join(self.tmp, "profile")
        self.log_path = os.path.join(self.tmp, "chromium.log")
        self.proc = None
        self.cdp = None

    async def launch(self):
        """Starts Chromium and connects to it; RuntimeError if it cannot."""
        if not os.access(self.path, os.X_OK):
            raise RuntimeError("no Chromium at %s (Debian: apt-get install chromium)"
                               % self.path)
        argv = DIE_WITH_RUNNER + [self.path] + CHROMIUM_ARGS + [
            "--user-data-dir=" + self.profile, "--remote-debugging-port=0",
            "about:blank"]
        # Chromium's own temporary files (its singleton socket) go in
        # self.tmp too, so one rmtree takes everything it wrote.
        env = dict(os.environ, TMPDIR=self.tmp)
        with open(self.log_path, "wb") as log:
            try:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    env=env, start_new_session=True)
            except OSError as e:
                raise RuntimeError("cannot start %s: %s" % (argv[0], e))
        endpoint = await self._endpoint()
        self.cdp = await Cdp.connect(endpoint)

    async def _endpoint(self):
        """The browser's WebSocket URL, from DevToolsActivePort in the
        profile: the port (chosen by Chromium), then the path."""
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with status %d before listening%s"
                                   % (self.path, self.proc.returncode, self.tail()))
            try:
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].isdigit() and lines[1]:
                    return "ws://127.0.0.1:%s%s" % (lines[0], lines[1])
            except FileNotFoundError:
                pass
            await asyncio.sleep(POLL_S)
        raise RuntimeError("%s wrote no DevToolsActivePort within %g s%s"
                           % (self.path, LAUNCH_TIMEOUT_S, self.tail()))

    async def version(self):
        return (await self.cdp.send("Browser.getVersion"))["product"]

    async def close(self):
        """Browser.close, then SIGKILL to whatever is left of the process
        group, then the profile goes.  Bounded by CLEANUP_S."""
        if self.cdp is not None:
            try:
                await self.cdp.send("Browser.close", timeout=CLEANUP_S)
            except CheckFailed:
                pass
            await self.cdp.close()
        if self.proc is not None:
            deadline = time.monotonic() + CLEANUP_S
            while self.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(POLL_S)
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def tail(self, n=10):
        try:
            with open(self.log_path, errors="replace") as f:
                lines = f.read().splitlines()[-n:]
        except OSError:
            return ""
        return "".join("\n    chromium: " + line for line in lines)


# ------------------------------------------------------------------ the pages

class Page:
    """One page in a browser context of its own (its own storage: a
    separate user), with its page errors and console errors collected."""

    def __init__(self, cdp, name, session, problems, notes):
        self.cdp = cdp
        self.name = name
        self.session = session
        self.problems = problems
        self.notes = notes

    @classmethod
    async def open(cls, cdp, name, url, problems, notes):
        context = (await cdp.send("Target.createBrowserContext"))["browserContextId"]
        target = (await cdp.send("Target.createTarget", {
            "url": "about:blank", "browserContextId": context}))["targetId"]
        session = (await cdp.send("Target.attachToTarget", {
            "targetId": target, "flatten": True}))["sessionId"]
        page = cls(cdp, name, session, problems, notes)
        page.target, page.context = target, context
        cdp.on(session, "Runtime.exceptionThrown", page._on_exception)
        cdp.on(session, "Runtime.consoleAPICalled", page._on_console)
        cdp.on(session, "Log.entryAdded", page._on_log)
        for method, params in [
                ("Page.enable", {}), ("Runtime.enable", {}), ("Log.enable", {}),
                ("Emulation.setDeviceMetricsOverride",
                 dict(VIEWPORT, deviceScaleFactor=1, mobile=False)),
                # Both pages behave as if focused, as they would side by side.
                ("Emulation.setFocusEmulationEnabled", {"enabled": True}),
                ("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_STATUS})]:
            await page.send(method, params)
        await page.goto(url)
        return page

    def send(self, method, params=None, timeout=WAIT_S):
        return self.cdp.send(method, params, self.session, timeout)

    async def close(self):
        """Closes the page and drops its browser context."""
        await self.cdp.send("Target.closeTarget", {"targetId": self.target})
        await self.cdp.send("Target.disposeBrowserContext",
                            {"browserContextId": self.context})

    # -- what the page says

    def _on_exception(self, params):
        d = params.get("exceptionDetails", {})
        text = d.get("exception", {}).get("description") or d.get("text", "?")
        self.problems.append("%s: page error: %s" % (self.name, text.split("\n")[0]))

    def _on_console(self, params):
        if params.get("type") != "error":
            return
        text = " ".join(str(a.get("value", a.get("description", "")))
                        for a in params.get("args", []))
        self._console_error(text, "")

    def _on_log(self, params):
        entry = params.get("entry", {})
        if entry.get("level") == "error":
            self._console_error(entry.get("text", ""), entry.get("url", ""))

    def _console_error(self, text, url):
        if "WebSocket connection to" in text and "failed" in text:
            return  # a reconnect attempt while the server is down
        if url.endswith("/favicon.ico"):
            self.notes.add("the page has no icon: every load asks GET "
                           "/favicon.ico and gets 404")
            return
        self.problems.append("%s: console error: %s" % (self.name, text))

    # -- JavaScript

    async def evaluate(self, expression):
        """The value of a JavaScript expression; CheckFailed if it throws."""
        r = await self.send("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CheckFailed("%s: %s" % (self.name, d.get("exception", {}).get(
                "description") or d.get("text")))
        return r["result"].get("value")

    async def wait_for(self, what, expression, timeout=WAIT_S):
        """Polls expression every POLL_S until it is true; CheckFailed after
        timeout.  An error (the page is between documents) means not yet."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            try:
                if await self.evaluate(expression):
                    return
                last = ""
            except CheckFailed as e:
                last = " (last: %s)" % e
            if time.monotonic() >= deadline:
                raise CheckFailed("%s: %s: not within %g s%s"
                                  % (self.name, what, timeout, last))
            await asyncio.sleep(POLL_S)

    async def goto(self, url):
        r = await self.send("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CheckFailed("%s: %s: %s" % (self.name, url, r["errorText"]))
        await self.wait_for("load " + url, "location.href === %s && "
                            "document.readyState === 'complete'" % json.dumps(url))

    # -- elements, found as assistive technology finds them

    async def find(self, role, name=None):
        """The one element with this ARIA role (and accessible name, if
        given) in Chromium's accessibility tree: its remote object id."""
        doc = await self.send("Runtime.evaluate", {"expression": "document"})
        query = {"objectId": doc["result"]["objectId"], "role": role}
        if name is not None:
            query["accessibleName"] = name
        nodes = (await self.send("Accessibility.queryAXTree", query))["nodes"]
        found = [n for n in nodes if not n.get("ignored") and "backendDOMNodeId" in n]
        what = "role=%s%s" % (role, " name=%r" % name if name is not None else "")
        if len(found) != 1:
            raise CheckFailed("%s: %d elements with %s" % (self.name, len(found), what))
        obj = await self.send("DOM.resolveNode",
                              {"backendNodeId": found[0]["backendDOMNodeId"]})
        return obj["object"]["objectId"]

    async def call(self, element, function):
        """Runs `function` (JavaScript source) with `this` = element."""
        r = await self.send("Runtime.callFunctionOn", {
            "objectId": element, "functionDeclaration": function,
            "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise CheckFailed("%s: %s" % (self.name, r["exceptionDetails"].get("text")))
        return r["result"].get("value")

    async def disabled(self, role, name):
        return await self.call(await self.find(role, name), "function() { return this.disabled; }")

    async def fill(self, label, text):
        """Focuses the text box named `label`, selects what it holds and
        types `text` over it."""
        box = await self.find("textbox", label)
        await self.call(box, "function() { this.focus(); this.select(); }")
        await self.send("Input.insertText", {"text": text})

    async def press_enter(self):
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        await self.send("Input.dispatchKeyEvent",
                        dict(key, type="keyDown", text="\r", unmodifiedText="\r"))
        await self.send("Input.dispatchKeyEvent", dict(key, type="keyUp"))

    async def click(self, role, name):
        """A left click in the middle of the element, once it is enabled,
        visible and the topmost element there."""
        where = """function() {
          this.scrollIntoView({block: "nearest"});
          const r = this.getBoundingClientRect();
          const x = r.left + r.width / 2, y = r.top + r.height / 2;
          const ok = !this.disabled && r.width > 0 && r.height > 0 &&
                     this.contains(document.elementFromPoint(x, y));
          return ok ? [x, y] : null;
        }"""
        deadline = time.monotonic() + WAIT_S
        while True:
            xy = await self.call(await self.find(role, name), where)
            if xy is not None:
                break
            if time.monotonic() >= deadline:
                raise CheckFailed("%s: role=%s name=%r not clickable within %g s"
                                  % (self.name, role, name, WAIT_S))
            await asyncio.sleep(POLL_S)
        mouse = {"x": xy[0], "y": xy[1], "button": "left", "clickCount": 1}
        await self.send("Input.dispatchMouseEvent", dict(mouse, type="mouseMoved"))
        await self.send("Input.dispatchMouseEvent", dict(mouse, type="mousePressed"))
        await self.send("Input.dispatchMouseEvent", dict(mouse, type="mouseReleased"))

    async def screenshot(self, path):
        r = await self.send("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    async def dark(self):
        await self.send("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]})


# -- the waits the checks use

def wait_status(page, state, pattern, timeout=WAIT_S):
    """The status element shows `state` and a text matching `pattern`."""
    return page.wait_for(
        "status %s %s" % (state, pattern),
        "(() => { const el = document.getElementById('status');"
        " return el !== null && el.dataset.state === %s && new RegExp(%s).test(el.textContent); })()"
        % (json.dumps(state), json.dumps(pattern)), timeout)


def wait_status_seen(page, pattern):
    """The status history has shown a line matching `pattern`."""
    return page.wait_for(
        "status history %s" % pattern,
        "(window.__statuses || []).some((s) => new RegExp(%s).test(s))" % json.dumps(pattern))


def wait_log_entry(page, text):
    """The log has an entry whose text is exactly `text`."""
    return page.wait_for(
        "log entry %r" % text,
        "[...document.querySelectorAll('#log li')].some((li) => li.textContent === %s)"
        % json.dumps(text))


def wait_text(page, element_id, text):
    """The element with id `element_id` holds exactly `text`."""
    return page.wait_for(
        "#%s = %r" % (element_id, text),
        "(() => { const el = document.getElementById(%s);"
        " return el !== null && el.textContent === %s; })()"
        % (json.dumps(element_id), json.dumps(text)))


async def no_log_entry(page, text):
    """The log has no entry whose text is `text` (checked once, now)."""
    n = await page.evaluate(
        "[...document.querySelectorAll('#log li')].filter((li) => li.textContent === %s).length"
        % json.dumps(text))
    if n != 0:
        raise CheckFailed("%d entries %r" % (n, text))


async def after(first, then):
    """Awaits `first`, then `then`."""
    await first
    await then


async def say(page, text, how):
    """Types text into the message box and sends it with the button or Enter."""
    await page.fill("Message", text)
    if how == "enter":
        await page.press_enter()
    else:
        await page.click("button", "Send")


# ------------------------------------------------------------------ the server

async def start_server(state, wshub, port):
    """wshub on `port` (0: any); a restart on a fixed port retries for
    START_TIMEOUT_S in case the old socket is not released yet.  Each try
    blocks the event loop until the "listening" line (milliseconds, at most
    START_TIMEOUT_S), and the main thread is where DIE_WITH_RUNNER needs
    the server started."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        state.server = WshubProcess(wshub, WSHUB_FLAGS, prefix=DIE_WITH_RUNNER, port=port)
        try:
            state.server.start()
            return state.server
        except RuntimeError:
            state.server.kill()
            if port == 0 or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def stop_server(server):
    """SIGTERM; how it exited (None: not within the bound, then killed).
    The wait runs on a worker thread, so the pages' events keep flowing."""
    return await asyncio.to_thread(server.stop)


def stopped_ok(code, server):
    return code == 0, describe_status(code) + server.tail()


# ------------------------------------------------------------------ the test

class State:
    """What cleanup must end, whatever point the run reached."""

    def __init__(self):
        self.server = None
        self.browser = None
        self.interrupted = None  # the signal's name
        self.redis = None        # section 5: a redis-server ...
        self.hubs = []           # ... and two wshub joined through it


async def scenario(t, state, wshub, chromium, artefacts):
    os.makedirs(artefacts, exist_ok=True)
    server = await start_server(state, wshub, 0)
    port = server.addr[1]
    url = "http://127.0.0.1:%d/" % port
    print("# wshub on port %d, Chromium at %s" % (port, chromium), flush=True)
    state.browser = Browser(chromium)
    await state.browser.launch()
    print("# " + await state.browser.version(), flush=True)
    cdp, problems = state.browser.cdp, []
    a = await Page.open(cdp, "page A", url, problems, t.notes)
    b = await Page.open(cdp, "page B", url, problems, t.notes)
    pages = [("A", a), ("B", b)]

    # 1. Both pages open.
    title = await a.evaluate("document.title")
    t.check("the page's title names its room: 'lobby — wshub chat'",
            title == "lobby — wshub chat", repr(title))
    for n, p in pages:
        await t.expect("page %s shows open" % n, wait_status(p, "open", "^open$"))
    for n, p in pages:
        await t.expect("page %s: Send is enabled while open" % n, expect_enabled(p, True))

    async def status_named():
        text = await a.call(await a.find("status"), "function() { return this.textContent; }")
        if text != "open":
            raise CheckFailed("role=status holds %r" % text)
    await t.expect("the status is announced (role=status) and names the state", status_named())

    # 2. Chat both ways; the sender gets its own message too.
    await say(a, "hello from A", "button")
    for n, p in pages:
        await t.expect("page %s shows A's message (Send button)" % n,
                       wait_log_entry(p, "hello from A"))

    async def box_empty():
        v = await a.call(await a.find("textbox", "Message"), "function() { return this.value; }")
        if v != "":
            raise CheckFailed("still holds %r" % v)
    await t.expect("the message box is emptied after sending", box_empty())
    unicode = "κόσμε — ünïcödé ✓ 😀"
    await say(b, unicode, "enter")
    for n, p in pages:
        await t.expect("page %s shows B's UTF-8 message (Enter key)" % n,
                       wait_log_entry(p, unicode))
    await a.screenshot(os.path.join(artefacts, "open.png"))

    # 2a. A display name: page A sends "NAME: TEXT", a plain text frame any
    # client can read; both pages show it with the name in bold and the
    # time it arrived, and A's browser keeps the name.
    await a.fill("Your name", "Ada")
    await say(a, "hi from Ada", "button")
    for n, p in pages:
        await t.expect("page %s shows 'Ada: hi from Ada' (the frame as sent)" % n,
                       wait_log_entry(p, "Ada: hi from Ada"))
        await t.expect("page %s shows the name in bold and the time it arrived" % n, p.wait_for(
            "the name in bold and a time",
            "[...document.querySelectorAll('#log li')].some((li) =>"
            " li.textContent === 'Ada: hi from Ada' && li.querySelector('b') !== null"
            " && li.querySelector('b').textContent === 'Ada'"
            " && /^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]$/.test(li.dataset.time))"))
    kept = await a.evaluate("localStorage.getItem('wshub-name')")
    t.check("page A's browser keeps the name", kept == "Ada", repr(kept))
    await a.evaluate("(() => { const n = document.getElementById('name'); n.value = '';"
                     " n.dispatchEvent(new Event('input')); })()")

    # 2b. Rooms: page C in room "blue" hears nothing from the lobby, and
    # the lobby nothing from it.  Each "not heard" is checked after a later
    # message from the same hub has arrived, so it would have come first.
    c = await Page.open(cdp, "page C", url + "#room=blue", problems, t.notes)
    await t.expect("page C (#room=blue) shows open", wait_status(c, "open", "^open$"))
    await t.expect("page C names its room 'blue'", wait_text(c, "room-name", "blue"))
    await say(a, "lobby only", "button")
    await t.expect("page B shows the lobby's message", wait_log_entry(b, "lobby only"))
    await say(c, "blue only", "enter")
    await t.expect("page C shows its own message in blue", wait_log_entry(c, "blue only"))
    await t.expect("page C did not get the lobby's message", no_log_entry(c, "lobby only"))
    await say(b, "lobby again", "enter")
    for n, p in pages:
        await t.expect("page %s did not get blue's message" % n,
                       after(wait_log_entry(p, "lobby again"), no_log_entry(p, "blue only")))
    await c.screenshot(os.path.join(artefacts, "room-blue.png"))
    await c.fill("Room", "lobby")
    await c.click("button", "Join")
    await t.expect("page C joins the lobby with the Room box",
                   wait_text(c, "room-name", "lobby"))
    await t.expect("page C is open in the lobby", wait_status(c, "open", "^open$"))
    await t.expect("page C's address says the lobby",
                   c.wait_for("#room=lobby", "location.hash === '#room=lobby'"))
    await say(a, "welcome C", "button")
    await t.expect("page C hears the lobby after joining it", wait_log_entry(c, "welcome C"))
    await c.close()

    # 2c. "See the threads": the server's threads, live, in page A.  Once
    # page C is gone: the hub and the front door, and two connections (A,
    # B) with a reader and a writer each, every writer with its queue bar.
    await a.evaluate("document.getElementById('threads-panel').open = true")
    await t.expect("the threads panel shows the hub",
                   a.wait_for("a hub row", "[...document.querySelectorAll('#threads td')]"
                              ".some((td) => td.textContent === 'hub')"))
    await t.expect("the threads panel shows two connections, a reader and a writer each",
                   a.wait_for("4 connection rows", "document.querySelectorAll('#threads tr.conn').length === 4"))
    await t.expect("each writer has its send queue as a bar",
                   a.wait_for("2 meters", "document.querySelectorAll('#threads meter').length === 2"))
    await t.expect("the panel counts 2N + 4 threads",
                   a.wait_for("the note", "/^8 threads: 2 connections/.test("
                              "document.getElementById('threads-note').textContent)"))
    await a.screenshot(os.path.join(artefacts, "threads.png"))
    await a.evaluate("document.getElementById('threads-panel').open = false")

    # 3. SIGTERM: both pages see 1001 with the server's reason.
    t.check("wshub exits 0 on SIGTERM", *stopped_ok(await stop_server(server), server))
    for n, p in pages:
        await t.expect("page %s status showed 'closed: 1001'" % n,
                       wait_status_seen(p, r"^closed\|closed: 1001 server shutting down"))
    for n, p in pages:
        await t.expect("page %s log keeps 'closed: 1001 server shutting down'" % n,
                       wait_log_entry(p, "closed: 1001 server shutting down"))
    await t.expect("Send is disabled while not open", expect_enabled(a, False))
    await a.screenshot(os.path.join(artefacts, "closed.png"))

    # 4. Same port again: both pages come back by themselves.
    server = await start_server(state, wshub, port)
    t.check("wshub restarts on the same port", server.addr[1] == port, str(server.addr))
    for n, p in pages:
        await t.expect("page %s reconnects (open again)" % n,
                       wait_status(p, "open", "^open$", RECONNECT_S))
    await say(b, "back again", "button")
    for n, p in pages:
        await t.expect("page %s shows a message sent after the restart" % n,
                       wait_log_entry(p, "back again"))

    async def connected_twice():
        n = await a.evaluate("[...document.querySelectorAll('#log li')]"
                             ".filter((li) => li.textContent.startsWith('connected to ws://')).length")
        if n != 2:
            raise CheckFailed("%d 'connected' lines" % n)
    await t.expect("page A connected exactly twice", connected_twice())
    await a.screenshot(os.path.join(artefacts, "chat.png"))

    # The same page in dark mode, as an artefact to look at.
    await a.dark()
    await a.screenshot(os.path.join(artefacts, "chat-dark.png"))

    t.check("wshub exits 0 on the second SIGTERM run", *stopped_ok(await stop_server(server), server))

    # 5. Two wshub processes joined through a real redis-server: pages on
    # different hubs chat in one room; a page in another room hears nothing.
    await redis_scenario(t, state, wshub, cdp, problems, artefacts)

    # 6. The same page over https: wshub --tls-cert (issue 18).
    await tls_scenario(t, state, wshub, cdp, problems, artefacts)
    t.check("no page errors or console errors", not problems, "; ".join(problems))
    for note in sorted(t.notes):
        print("# note: " + note, flush=True)
    print("# screenshots in %s/" % artefacts, flush=True)


def redis_command(port, *args):
    """One command to Redis over a raw socket (RESP); the raw reply."""
    import socket
    cmd = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args))
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(cmd)
        return sock.recv(4096)


async def poll(what, fn):
    """Polls fn() (blocking, on a worker thread) every 50 ms until true."""
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            if await asyncio.to_thread(fn):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise CheckFailed("never saw: " + what)
        await asyncio.sleep(POLL_S)


async def redis_scenario(t, state, wshub, cdp, problems, artefacts):
    import socket
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state.redis = subprocess.Popen(DIE_WITH_RUNNER + [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await t.expect("redis-server answers",
                   poll("PONG", lambda: redis_command(port, "PING").startswith(b"+PONG")))
    for _ in range(2):
        hub = WshubProcess(wshub, WSHUB_FLAGS + ["--redis", "redis://127.0.0.1:%d" % port],
                           prefix=DIE_WITH_RUNNER)
        state.hubs.append(hub)
        await asyncio.to_thread(hub.start)

    def connected(hub):
        url = "http://%s:%d/stats" % hub.addr
        with urllib.request.urlopen(url, timeout=WAIT_S) as r:
            return json.load(r)["redis_connected"] == 1
    for i, hub in enumerate(state.hubs):
        await t.expect("hub %d connects to Redis" % (i + 1),
                       poll("redis_connected", lambda hub=hub: connected(hub)))
    home = ["http://127.0.0.1:%d/" % hub.addr[1] for hub in state.hubs]
    d = await Page.open(cdp, "page D", home[0] + "#room=red", problems, t.notes)
    e = await Page.open(cdp, "page E", home[1] + "#room=red", problems, t.notes)
    f = await Page.open(cdp, "page F", home[1] + "#room=blue", problems, t.notes)
    for n, p in (("D", d), ("E", e), ("F", f)):
        await t.expect("page %s open on its hub" % n, wait_status(p, "open", "^open$"))

    def numsub(channel, n):
        return redis_command(port, "PUBSUB", "NUMSUB", channel).endswith(b":%d\r\n" % n)
    await t.expect("both hubs subscribe to red, hub 2 to blue",
                   poll("NUMSUB", lambda: numsub("wshub:red", 2) and numsub("wshub:blue", 1)))
    await say(d, "across hubs", "enter")
    await t.expect("page E (hub 2) hears page D (hub 1) through Redis",
                   wait_log_entry(e, "across hubs"))
    await t.expect("page D hears itself once", wait_log_entry(d, "across hubs"))
    await say(f, "blue here", "enter")
    await t.expect("page F hears its own room", wait_log_entry(f, "blue here"))
    await t.expect("page F (blue, hub 2) did not hear red", no_log_entry(f, "across hubs"))
    await say(e, "red again", "enter")
    await t.expect("page D hears page E back through Redis", wait_log_entry(d, "red again"))
    await t.expect("page E (red, hub 2) did not hear blue", no_log_entry(e, "blue here"))

    async def once():
        n = await d.evaluate("[...document.querySelectorAll('#log li')]"
                             ".filter((li) => li.textContent === 'across hubs').length")
        if n != 1:
            raise CheckFailed("%d times" % n)
    await t.expect("page D got its own message exactly once", once())
    await e.screenshot(os.path.join(artefacts, "redis.png"))
    for p in (d, e, f):
        await p.close()
    for i, hub in enumerate(state.hubs):
        t.check("hub %d exits 0 on SIGTERM" % (i + 1), *stopped_ok(await stop_server(hub), hub))


async def tls_scenario(t, state, wshub, cdp, problems, artefacts):
    """The chat page over https: it picks wss:// by itself, two pages chat,
    the thread panel (over https too) shows a reader and a writer per
    connection, and SIGTERM gives both 1001."""
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = await asyncio.to_thread(make_tls_pair, tmp)
        state.server = WshubProcess(wshub, WSHUB_FLAGS + ["--tls-cert", cert, "--tls-key", key],
                                    prefix=DIE_WITH_RUNNER)
        await asyncio.to_thread(state.server.start)
    url = "https://127.0.0.1:%d/" % state.server.addr[1]
    g = await Page.open(cdp, "page G", url, problems, t.notes)
    h = await Page.open(cdp, "page H", url, problems, t.notes)
    for n, p in (("G", g), ("H", h)):
        await t.expect("https page %s shows open" % n, wait_status(p, "open", "^open$"))
    await t.expect("the https page picked wss:// by itself", g.wait_for(
        "a 'connected to wss://' line", "[...document.querySelectorAll('#log li')]"
        ".some((li) => li.textContent.startsWith('connected to wss://127.0.0.1:'))"))
    await say(g, "hello over wss", "enter")
    for n, p in (("G", g), ("H", h)):
        await t.expect("https page %s shows G's message" % n, wait_log_entry(p, "hello over wss"))
    await g.evaluate("document.getElementById('threads-panel').open = true")
    await t.expect("over TLS, each connection still has a reader and a writer",
                   g.wait_for("4 connection rows",
                              "document.querySelectorAll('#threads tr.conn').length === 4"))
    await g.screenshot(os.path.join(artefacts, "tls.png"))
    t.check("the TLS wshub exits 0 on SIGTERM",
            *stopped_ok(await stop_server(state.server), state.server))
    for n, p in (("G", g), ("H", h)):
        await t.expect("https page %s log keeps 'closed: 1001 server shutting down'" % n,
                       wait_log_entry(p, "closed: 1001 server shutting down"))
    for p in (g, h):
        await p.close()


async def expect_enabled(page, want):
    disabled = await page.disabled("button", "Send")
    if disabled == want:
        raise CheckFailed("disabled" if disabled else "enabled")


async def cleanup(state):
    """Ends Chromium and wshub, bounded.  A server stop may still be
    waiting on its thread: let it finish (it is bounded too) first."""
    try:
        await asyncio.wait_for(asyncio.get_running_loop().shutdown_default_executor(),
                               STOP_TIMEOUT_S + CLEANUP_S)
    except asyncio.TimeoutError:
        pass
    if state.browser is not None:
        await state.browser.close()
    if state.server is not None:
        state.server.kill()
    for hub in state.hubs:
        hub.kill()
    if state.redis is not None:
        state.redis.kill()
        state.redis.wait()


async def main_async(t):
    wshub = wshub_path()
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    artefacts = root_path(os.environ.get("ARTEFACTS", "build/browser"))
    state = State()
    run = asyncio.ensure_future(scenario(t, state, wshub, chromium, artefacts))

    def interrupt(sig):
        state.interrupted = sig.name
        run.cancel()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt, sig)
    try:
        done, _ = await asyncio.wait({run}, timeout=RUN_TIMEOUT_S)
        if not done:
            run.cancel()
            await asyncio.wait({run})
            t.check("the test finishes within %g s" % RUN_TIMEOUT_S, False)
        elif run.cancelled():
            t.check("not interrupted", False, state.interrupted or "cancelled")
        elif run.exception() is not None:
            e = run.exception()
            why = str(e) if isinstance(e, (CheckFailed, RuntimeError)) else "%s: %s" % (
                type(e).__name__, e)
            tail = state.server.tail() if state.server else ""
            t.check("the test ran to the end", False, why + tail)
    finally:
        await cleanup(state)


def main():
    t = Tally()
    asyncio.run(main_async(t))
    print("browser: %d passed, %d failed" % (t.passed, t.failed), flush=True)
    sys.exit(0 if t.failed == 0 else 1)


if __name__ == "__main__":
    main()
