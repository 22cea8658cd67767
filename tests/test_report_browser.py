"""results/report.html in a real browser: Debian's headless chromium, driven over the DevTools
protocol through a pipe (--remote-debugging-pipe: no network port, no websocket library).

Checks that every exhibit of the workflow has its section, no image is broken, nothing is
logged as an error, and nothing is fetched from the network (the report opens offline);
saves a screenshot to results/report_screenshot.png.

Run by hand on any report:  python tests/test_report_browser.py results/report.html shot.png
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "results" / "report_screenshot.png"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """A headless chromium and a minimal DevTools-protocol client over its debugging pipe
    (commands on fd 3, replies and events on fd 4, each message a NUL-terminated JSON text)."""

    def __init__(self, executable: str, timeout: float = 60.0):
        self.timeout = timeout
        self.events: list[dict] = []
        self._next_id = 0
        self._buffer = b""
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes():  # in the child: the protocol's fixed descriptors 3 and 4
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe",
             "about:blank"],
            pass_fds=(3, 4), preexec_fn=wire_pipes,  # kept open after wire_pipes puts the pipes there
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_browser_r)
        os.close(from_browser_w)

    def _read_message(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its debugging pipe: " + self._stderr_tail())
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def _stderr_tail(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        return (self.process.stderr.read() or b"").decode(errors="replace")[-2000:]

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for_event(self, method: str, session: str | None = None) -> dict:
        deadline = time.monotonic() + self.timeout
        for ev in self.events:
            if ev.get("method") == method and (session is None or ev.get("sessionId") == session):
                return ev
        while True:
            ev = self._read_message(deadline)
            self.events.append(ev)
            if ev.get("method") == method and (session is None or ev.get("sessionId") == session):
                return ev

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                try:
                    self.send("Browser.close")
                except (RuntimeError, TimeoutError, OSError):
                    pass
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


PAGE_FACTS = """
(async () => {
  await Promise.all([...document.images].map(i => i.complete ? null :
      new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
  return JSON.stringify({
    title: document.title,
    dataSource: (document.getElementById('data-source') || {}).textContent || null,
    exhibits: [...document.querySelectorAll('section.exhibit')].map(s => ({
      exhibit: s.dataset.exhibit, state: s.dataset.state, id: s.id,
      images: s.querySelectorAll('img').length})),
    images: [...document.images].map(i => ({alt: i.alt, naturalWidth: i.naturalWidth,
      naturalHeight: i.naturalHeight, dataUri: i.src.startsWith('data:')})),
    height: document.documentElement.scrollHeight,
  });
})()
"""


def inspect_report(html: Path, screenshot: Path | None = None, width: int = 1280, height: int = 1600,
                   chromium: str | None = None) -> dict:
    """Open `html` in headless chromium; return what the page shows and what it logged."""
    executable = chromium or find_chromium()
    if executable is None:
        raise FileNotFoundError("chromium is not installed")
    url = Path(html).resolve().as_uri()
    with Chromium(executable) as browser:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        browser.send("Page.navigate", {"url": url}, session=session)
        browser.wait_for_event("Page.loadEventFired", session=session)
        result = browser.send("Runtime.evaluate", {"expression": PAGE_FACTS, "awaitPromise": True,
                                                   "returnByValue": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page inspection failed: {result['exceptionDetails']}")
        facts = json.loads(result["result"]["value"])
        if screenshot is not None:
            import base64

            shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
        events = [e for e in browser.events if e.get("sessionId") == session]
    facts["console_errors"] = [
        " ".join(str(a.get("value", a.get("description", ""))) for a in e["params"].get("args", []))
        for e in events if e.get("method") == "Runtime.consoleAPICalled"
        and e["params"].get("type") in ("error", "assert")]
    facts["exceptions"] = [e["params"]["exceptionDetails"].get("text", "") for e in events
                           if e.get("method") == "Runtime.exceptionThrown"]
    facts["log_errors"] = [e["params"]["entry"].get("text", "") for e in events
                           if e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error"]
    facts["requests"] = [e["params"]["request"]["url"] for e in events
                         if e.get("method") == "Network.requestWillBeSent"]
    return facts


# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def built_report(default_build):
    """results/report.html of the real workflow, built in a private copy of the repository."""
    return default_build


@pytest.mark.browser
@pytest.mark.slow
def test_report_opens_in_chromium(chromium, built_report):
    html = built_report / "results" / "report.html"
    facts = inspect_report(html, SCREENSHOT, chromium=chromium)

    expected = sorted(p.parent.name for p in (built_report / "results" / "exhibits").glob("*/meta.json"))
    shown = sorted(e["exhibit"] for e in facts["exhibits"])
    assert expected, "the workflow built no exhibit"
    missing = sorted(set(expected) - set(shown))
    assert not missing, f"exhibits without a section in the report: {missing}"
    assert len(shown) == len(set(shown)), f"an exhibit appears twice: {shown}"

    broken = [i["alt"] for i in facts["images"] if i["naturalWidth"] <= 0 or i["naturalHeight"] <= 0]
    assert not broken, f"broken images: {broken}"
    assert all(i["dataUri"] for i in facts["images"]), "an image is not embedded in the file"
    # every figure is shown, except those of failed exhibits (whose numbers are not shown)
    from lwo.report import classify_status

    metas = [json.loads(p.read_text()) for p in (built_report / "results" / "exhibits").glob("*/meta.json")]
    assert len(facts["images"]) == sum(1 for m in metas if m["figure"] and classify_status(m["status"]) != "failed")

    assert not facts["console_errors"], facts["console_errors"]
    assert not facts["exceptions"], facts["exceptions"]
    assert not facts["log_errors"], facts["log_errors"]
    external = [u for u in facts["requests"] if not u.startswith(("file:", "data:"))]
    assert not external, f"the report fetches from the network: {external}"

    assert "test the pipeline, not the study" in facts["dataSource"]
    assert SCREENSHOT.stat().st_size > 10_000


@pytest.mark.browser
def test_inspection_sees_a_broken_image_and_a_console_error(chromium, tmp_path):
    """The checks above can fail: a page with a broken image and a script error is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>'
                    '<section class="exhibit" data-exhibit="1" data-state="ok"><img alt="gone" src="missing.png">'
                    '</section><script>console.error("boom"); undefinedFunction();</script></body></html>')
    facts = inspect_report(page, chromium=chromium)
    assert [e["exhibit"] for e in facts["exhibits"]] == ["1"]
    assert facts["images"][0]["naturalWidth"] == 0
    assert facts["console_errors"] == ["boom"]
    assert facts["exceptions"]
    assert any("missing.png" in u for u in facts["requests"])


if __name__ == "__main__":
    out = inspect_report(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None,
                         height=int(sys.argv[3]) if len(sys.argv) > 3 else 1600)
    print(json.dumps({k: v for k, v in out.items() if k != "images"}, indent=1)[:4000])
