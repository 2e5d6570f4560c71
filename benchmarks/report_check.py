#!/usr/bin/env python3
"""Open a review page in headless Chromium with the network off, and look at it.

    python benchmarks/report_check.py                       # mobilenet_v2 vs resnet50
    python benchmarks/report_check.py --page review.html    # a page made already
    python benchmarks/report_check.py --out /tmp/shots --scale 0.5

Makes the page with ``convcalc report`` (unless ``--page``), starts Debian's ``chromium``
(``apt-get install -y chromium``) headless with a fresh profile and every background
service off, and drives it over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
no port, no websocket, standard library only). Before the page loads the tab is put
offline (``Network.emulateNetworkConditions``); every request the page makes is recorded,
and any that is not to the page's own file fails the check. So does any console message,
uncaught exception or browser log error (a Content-Security-Policy refusal lands there).
The check proves its listeners hear: it logs one console error of its own at the end and
fails if that goes unseen. Then it sorts the per-layer table by MACs (the page's script)
and checks the order, and takes a screenshot of each section into ``--out``.

Exit status 0 when every check passes; the screenshots are for a person to look at.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SECTIONS = (
    "summary",
    "comparison",
    "stages",
    "memory",
    "roofline",
    "receptive-field",
    "sweep",
    "layers",
)
DEFAULT_ARGS = (
    "mobilenet_v2",
    "resnet50",
    "--device",
    "gpu-t4,cortex-a76-sd855",
    "--alpha",
    "0.5,0.75,1",
    "--rho",
    "0.714,0.857,1",
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--remote-debugging-pipe",
)


class Browser:
    """Chromium over the DevTools pipe: fd 3 reads commands, fd 4 writes replies, each
    message JSON ended by a NUL byte."""

    def __init__(self, binary: str, profile: Path) -> None:
        import fcntl

        r, self._to_child = os.pipe()
        self._from_child, w = os.pipe()
        # The child's ends above 4 first, so moving them to 3 and 4 clobbers neither.
        to_child_r, from_child_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (r, w))
        os.close(r)
        os.close(w)

        def fds() -> None:  # in the child: the pipe ends at 3 and 4, kept open by pass_fds
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=fds,
            pass_fds=(3, 4, to_child_r, from_child_w),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        """Send one command (to the page's session once attached) and wait for its reply,
        keeping every event that arrives meanwhile."""
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read(timeout)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout=10)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def problems(events: list[dict[str, Any]], page_url: str) -> list[str]:
    """Console messages, exceptions, browser log errors and requests to anything but the
    page itself, as lines."""
    out = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            out.append(f"console.{p['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            out.append(f"exception: {p['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            out.append(f"log {p['entry']['level']}: {p['entry']['text']}")
        elif method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if url.split("#")[0] != page_url and not url.startswith("data:"):
                out.append(f"request: {url}")
    return out


def evaluate(browser: Browser, expression: str) -> Any:
    result = browser.call("Runtime.evaluate", expression=expression, returnByValue=True)
    if "exceptionDetails" in result:
        raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
    return result["result"].get("value")


SORT_CHECK = """(() => {
  const table = document.querySelector("#layers table.sortable");
  const col = [...table.tHead.rows[0].cells].findIndex(c => c.textContent === "MACs");
  table.tHead.rows[0].cells[col].click();
  const values = [...table.tBodies[0].rows].map(r => Number(r.cells[col].dataset.v));
  return values.every((v, i) => i === 0 || values[i - 1] <= v) && values.length > 1;
})()"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--page", help="a review page to check (default: make one)")
    parser.add_argument("--out", default="report-check", help="folder for the screenshots")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900, help="of the window")
    parser.add_argument("--scale", type=float, default=1.0, help="screenshot scale")
    parser.add_argument("--max-height", type=int, default=2400, help="of a section shot, px")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not Path(args.chromium).is_file() and not shutil.which(args.chromium):
        sys.stderr.write("chromium not found: apt-get update && apt-get install -y chromium\n")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(args.page) if args.page else Path(tmp) / "review.html"
        if not args.page:
            cmd = [sys.executable, "-m", "convcalc", "report", *DEFAULT_ARGS, "-o", str(page)]
            subprocess.run(cmd, check=True)
        page_url = page.resolve().as_uri()
        browser = Browser(args.chromium, Path(tmp) / "profile")
        failures: list[str] = []
        try:
            target = browser.call("Target.createTarget", url="about:blank")["targetId"]
            browser.session = browser.call("Target.attachToTarget", targetId=target, flatten=True)[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.call(f"{domain}.enable")
            browser.call(
                "Network.emulateNetworkConditions",
                offline=True,
                latency=0,
                downloadThroughput=-1,
                uploadThroughput=-1,
            )
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                width=args.width,
                height=args.height,
                deviceScaleFactor=args.scale,
                mobile=False,
            )
            browser.call("Page.navigate", url=page_url)
            browser.wait_for("Page.loadEventFired")
            missing = [
                s for s in SECTIONS if not evaluate(browser, f"!!document.getElementById('{s}')")
            ]
            failures += [f"section missing: {s}" for s in missing]
            if not evaluate(browser, SORT_CHECK):
                failures.append("sorting the per-layer table by MACs left it out of order")
            top = browser.call("Page.captureScreenshot", format="png")
            (out / "page.png").write_bytes(base64.b64decode(top["data"]))
            print(f"{out / 'page.png'}: the top of the page, {args.width}x{args.height} px")
            for ident in SECTIONS:
                if ident in missing:
                    continue
                box = evaluate(
                    browser,
                    f"(() => {{const r = document.getElementById('{ident}')"
                    ".getBoundingClientRect(); return [r.left, r.top + window.scrollY, "
                    "r.width, r.height];})()",
                )
                x, y, w, h = box
                shot = browser.call(
                    "Page.captureScreenshot",
                    format="png",
                    captureBeyondViewport=True,
                    clip={
                        "x": x,
                        "y": y,
                        "width": w,
                        "height": min(h, args.max_height),
                        "scale": 1,
                    },
                )
                path = out / f"{ident}.png"
                path.write_bytes(base64.b64decode(shot["data"]))
                print(
                    f"{path}: section #{ident}, {w:.0f}x{h:.0f} px"
                    + (f" (first {args.max_height} px)" if h > args.max_height else "")
                )
            seen = problems(browser.events, page_url)
            failures += seen
            evaluate(browser, "console.error('report_check self-test')")
            time.sleep(0.2)
            evaluate(browser, "1")
            heard = problems(browser.events, page_url)
            if not any("report_check self-test" in line for line in heard):
                failures.append("the console listener heard nothing: the check cannot see errors")
        finally:
            browser.close()
    for line in failures:
        print(f"FAIL {line}")
    print("ok: no request, no console error" if not failures else f"{len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
