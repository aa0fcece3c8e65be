"""The HTML report in a real browser.

Headless Chromium, driven through the DevTools protocol, opens reports/report.html from
disk. The page must raise no exception, log no console error and make no request that is
not to a file:// URL: it is one self-contained file that works offline. A screenshot of it
must be a real picture. Under CI=true a missing browser fails the test; elsewhere it skips
with the reason.

    python tests/e2e/test_report_browser.py REPORT.html OUT.png   # full-page screenshot

is how docs/report.png was made (from the demo snapshot of tests/e2e/conftest.py).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reporting.html import render_report

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
WIDTH, HEIGHT = 1280, 2000


def find_chromium() -> str | None:
    """$CHROMIUM, else the first Chromium or Chrome on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) else None
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


class DevTools:
    """A headless Chromium and one page, over the DevTools protocol (websockets, sync API).

    Every event the page sends is kept in ``events``; ``stderr`` keeps the browser's log.
    """

    def __init__(
        self, exe: str, profile: Path, *, width: int = WIDTH, height: int = HEIGHT
    ) -> None:
        from websockets.sync.client import connect

        self.proc = subprocess.Popen(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.stderr: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._stack = contextlib.ExitStack()
        try:
            self._attach(connect, width, height)
        except BaseException:
            self.close()
            raise

    def _attach(self, connect: Any, width: int, height: int) -> None:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            url = match.group(1) if match else None
        if url is None:
            raise RuntimeError("Chromium did not start DevTools:\n" + "\n".join(self.stderr[-20:]))
        self.ws = self._stack.enter_context(
            connect(url, max_size=None, proxy=None, open_timeout=30)
        )
        self._id = 0
        self.session: str | None = None
        target = self.call("Target.createTarget", {"url": "about:blank"}, page=False)["targetId"]
        self.session = self.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, page=False
        )["sessionId"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def _pump(self, lines: queue.Queue[str]) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())
            lines.put(line)

    def _receive(self, timeout: float) -> dict[str, Any]:
        message = json.loads(self.ws.recv(timeout=timeout))
        if "method" in message:
            self.events.append(message)
        return message

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, page: bool = True
    ) -> dict[str, Any]:
        self._id += 1
        request: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if page and self.session:
            request["sessionId"] = self.session
        self.ws.send(json.dumps(request))
        deadline = time.monotonic() + 60
        while True:
            message = self._receive(max(0.1, deadline - time.monotonic()))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, method: str, since: int = 0, timeout: float = 30) -> dict[str, Any]:
        """The first ``method`` event from ``events[since]`` on, waiting for it if need be."""
        seen = next((e for e in self.events[since:] if e["method"] == method), None)
        if seen is not None:
            return seen
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(max(0.1, deadline - time.monotonic()))
            if message.get("method") == method:
                return message

    def settle(self, seconds: float = 0.5) -> None:
        """Collect the events that arrive within ``seconds`` (late console messages)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self._receive(left)
            except TimeoutError:
                return

    def open(self, url: str) -> None:
        since = len(self.events)
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise RuntimeError(f"navigation to {url} failed: {result['errorText']}")
        self.wait_for("Page.loadEventFired", since)
        self.settle()

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def screenshot(self, *, full_page: bool = False, scale: float = 1.0) -> bytes:
        """The viewport as PNG; or the whole page, scaled by ``scale``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": size["height"],
                "scale": scale,
            }
        return base64.b64decode(self.call("Page.captureScreenshot", params)["data"])

    def problems(self) -> list[str]:
        """Exceptions, console errors, failed loads and any request that is not to a file."""
        found = []
        for e in self.events:
            method, p = e["method"], e.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                found.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                found.append(f"log error: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif method == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not url.startswith(("file://", "data:", "about:")):
                    found.append(f"request leaves the file: {url}")
            elif method == "Network.loadingFailed":
                found.append(f"loading failed: {p.get('errorText')} ({p.get('type')})")
        return found

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                with contextlib.suppress(Exception):
                    self.call("Browser.close", page=False)
            self._stack.close()
        finally:
            if getattr(self, "ws", None) is None and self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)  # never connected: nothing to ask
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group this test started
                self.proc.wait()

    def __enter__(self) -> DevTools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="session")
def chromium() -> str:
    exe = find_chromium()
    if exe is None:
        where = (
            f"$CHROMIUM={os.environ['CHROMIUM']} is not an executable"
            if os.environ.get("CHROMIUM")
            else f"none of {', '.join(CHROMIUM_NAMES)} on PATH"
        )
        reason = f"chromium not installed: {where} (apt-get install chromium; .ci/run installs it under CI=true)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        import websockets  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("the websockets package is missing from the environment")
        pytest.skip("websockets not installed: cannot drive Chromium's DevTools protocol")
    return exe


@pytest.fixture(scope="module")
def report_html(demo_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """reports/report.html as the pipeline's report step wrote it for the last demo date."""
    written = demo_snapshot.parent.parent / "reports" / "report.html"
    assert written.exists(), "the report step did not write reports/report.html"
    assert (written.parent / "target_progress.html").read_bytes() == written.read_bytes()
    # The page is a function of the snapshot (published_at included): rendering it again
    # gives the same bytes.
    assert render_report(demo_snapshot) == written.read_text(encoding="utf-8")
    return written


def test_report_is_one_self_contained_file(report_html: Path) -> None:
    page = report_html.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page), "external reference"
    assert "@import" not in page and "url(" not in page
    for section in ("progress", "provinces", "causes", "readiness", "coverage", "quality"):
        assert f'id="{section}"' in page, section
    figures = page.count("<figure")
    assert figures >= 8 and page.count("<details>") == figures
    assert page.count("How to read this") >= figures


def test_report_opens_in_headless_chromium_without_errors(
    chromium: str, report_html: Path, tmp_path: Path
) -> None:
    with DevTools(chromium, tmp_path / "profile") as browser:
        browser.open(report_html.as_uri())
        dom = browser.evaluate(
            "JSON.stringify({title: document.title, scripts: document.scripts.length,"
            " svgs: document.querySelectorAll('svg').length,"
            " titled: document.querySelectorAll('svg > title').length,"
            " labelled: Array.from(document.querySelectorAll('svg')).filter(s =>"
            "   s.querySelector('text.atitle')).length,"
            " figures: document.querySelectorAll('figure').length,"
            " complete: Array.from(document.querySelectorAll('figure')).filter(f =>"
            "   f.querySelector('h3') && f.querySelector('.how') && f.querySelector('details table')"
            " ).length,"
            " header: document.querySelector('header').innerText})"
        )
        shot = browser.screenshot()
        problems = browser.problems()
        stderr = browser.stderr
    assert problems == [], "\n".join([*problems, "--- chromium stderr:", *stderr[-20:]])
    info = json.loads(dom)
    assert info["title"].startswith("Poverty registry report as of 2015-03-03")
    assert info["scripts"] == 0
    assert info["svgs"] >= 8 and info["svgs"] == info["titled"] == info["labelled"], info
    assert info["figures"] >= 8 and info["complete"] == info["figures"], info
    assert "As of delivery date 2015-03-03" in info["header"]
    assert "snapshot published" in info["header"]

    (tmp_path / "report.png").write_bytes(shot)
    assert png_size(shot) == (WIDTH, HEIGHT)
    assert len(shot) > 40_000, f"screenshot is {len(shot)} bytes: a blank page?"


if __name__ == "__main__":
    exe = find_chromium()
    if exe is None or len(sys.argv) != 3:
        sys.exit(
            "usage (needs chromium): python tests/e2e/test_report_browser.py REPORT.html OUT.png"
        )
    with tempfile.TemporaryDirectory() as profile, DevTools(exe, Path(profile)) as browser:
        browser.open(Path(sys.argv[1]).resolve().as_uri())
        Path(sys.argv[2]).write_bytes(browser.screenshot(full_page=True, scale=0.7))
        for problem in browser.problems():
            print(problem, file=sys.stderr)
