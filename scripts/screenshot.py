"""The README's screenshots: a fresh server, a finished run of each phenomenon in its explorer.

    python scripts/screenshot.py [grokking edge_of_stability ...] [--preset default] [--out FILE]
                                 [--server http://127.0.0.1:8050]

Starts `python -m backend serve` with one worker on a temporary SQLite database (or uses --server, where
finished runs are found instead of trained again), then for each phenomenon clicks through the UI like a
visitor (Debian's chromium via Playwright): the gallery's "Run default" (or, for another preset, the
explorer's Run), waits for the run to finish and every chart and snapshot view to be drawn, and saves the
explorer as docs/screenshot-<phenomenon>.png: 1400 px wide, down to its last chart (--height: a fixed
viewport instead).
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from backend.store.vocabulary import ACTIVE_STATUSES
from workers import phenomena

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PHENOMENA = list(phenomena.names())  # the whole catalogue

# True once every shown chart and snapshot view of the page has drawn data (no "waiting for data" placeholder).
DRAWN = """() => {
    const plots = [...document.querySelectorAll('[class*="chart-"] .js-plotly-plot, [class*="snapshot-"] .js-plotly-plot')]
        .filter(gd => gd.offsetParent !== null);  // an optional chart whose knob is off stays hidden, undrawn
    return plots.length > 0 && plots.every(gd => gd.data && gd.data.some(t => (t.z || t.x || []).length)
        && !((gd.layout && gd.layout.annotations) || []).some(a => /waiting for data|No snapshot yet/.test(a.text)));
}"""


LAST_CHART_BOTTOM = """() => Math.max(...[...document.querySelectorAll('.dash-graph')]
    .map(g => (g.closest('.mantine-Card-root') || g).getBoundingClientRect().bottom + window.scrollY))"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phenomena", nargs="*", default=PHENOMENA, help=f"default: {' '.join(PHENOMENA)}")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", type=Path, help="The PNG (one phenomenon only); default docs/screenshot-<name>.png")
    parser.add_argument("--width", type=int, default=1400, help="Viewport width in px.")
    parser.add_argument("--height", type=int, help="Viewport height in px (default: down to the last chart).")
    parser.add_argument("--server", help="A running Phaselab to use instead of a fresh one.")
    parser.add_argument("--timeout", type=float, default=600, help="Seconds each run may take.")
    options = parser.parse_args()
    if options.out and len(options.phenomena) != 1:
        parser.error("--out names one file: give one phenomenon")
    with tempfile.TemporaryDirectory() as folder, serving(Path(folder), options.server) as base, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name in options.phenomena:
            out = options.out or ROOT / "docs" / f"screenshot-{name.replace('_', '-')}.png"
            page = browser.new_page(viewport={"width": options.width, "height": options.height or 1000},
                                    device_scale_factor=1)
            run_id = screenshot(page, base, name, options.preset, out, options.height, options.timeout)
            page.close()
            print(f"saved {out} (run {run_id})")
        browser.close()


class serving:
    """`python -m backend serve --workers 1` on a free port and a throwaway database, stopped on exit (or,
    given a URL, that server, left alone)."""

    def __init__(self, folder: Path, url: str | None = None):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.folder, self.url = folder, url

    def __enter__(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHASELAB_")}
        env |= {"PHASELAB_DATABASE_URL": f"sqlite:///{self.folder / 'screenshot.db'}", "PYTHONUNBUFFERED": "1"}
        self.log = open(self.folder / "server.log", "wb")  # noqa: SIM115 - closed in __exit__
        # Its own process group, so stopping it stops its worker too.
        self.proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(self.port),
                                      "--workers", "1"], cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited:\n{(self.folder / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit("server did not become healthy in 90 s")

    def __exit__(self, *_: object) -> None:
        if self.url:
            return
        os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
        self.log.close()


def screenshot(page: Page, base: str, phenomenon: str, preset: str, out: Path, height: int | None,
               timeout: float) -> str:
    if preset == "default":  # as a visitor would: the gallery's button
        page.goto(base)
        page.locator(f".phenomenon-{phenomenon}").get_by_role("button", name="Run default").click()
    else:
        page.goto(f"{base}/explore/{phenomenon}?preset={preset}")
        page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(f"{base}/explore/{phenomenon}?*run=*")
    run_id = page.url.rsplit("run=", 1)[1].split("&")[0]
    deadline = time.monotonic() + timeout
    while (run := httpx.get(f"{base}/api/runs/{run_id}").json())["status"] in ACTIVE_STATUSES:
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run_id} still {run['status']} after {timeout:.0f} s")
        progress = run["progress"]
        print(f"\r{phenomenon}: {progress['symbol']} {progress['x']:g} / {progress['total']:g}", end="", flush=True)
        page.wait_for_timeout(1000)
    print()
    page.locator(".run-status", has_text=run["status"]).wait_for()
    page.wait_for_function(DRAWN, timeout=60_000)
    if height is None:  # down to the bottom of the last chart or snapshot card
        bottom = page.evaluate(LAST_CHART_BOTTOM)
        width = page.evaluate("() => window.innerWidth")
        page.set_viewport_size({"width": width, "height": round(bottom) + 16})
        page.wait_for_function(DRAWN, timeout=60_000)
    page.evaluate("() => window.scrollTo(0, 0)")  # from the top, whatever a focused input scrolled to
    page.mouse.move(1, 1)  # no hover labels or plot toolbars in the picture
    page.wait_for_timeout(1500)  # the last refresh and resize, fonts
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out))
    return run_id


if __name__ == "__main__":
    main()
