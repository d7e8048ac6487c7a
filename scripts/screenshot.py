"""The README's screenshot: a fresh server, the gallery's "Run default" on grokking, the finished run.

    python scripts/screenshot.py [--out docs/screenshot-grokking.png] [--phenomenon grokking]

Starts `python -m backend serve` with one worker on a temporary SQLite database, clicks through the UI
like a visitor (Debian's chromium via Playwright), waits for the run to finish with its marks drawn,
and saves the explorer page at 1280 px wide.
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
from playwright.sync_api import sync_playwright

from backend.store.vocabulary import ACTIVE_STATUSES

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot-grokking.png")
    parser.add_argument("--phenomenon", default="grokking")
    parser.add_argument("--height", type=int, default=1080, help="Viewport height in px (width 1280).")
    parser.add_argument("--timeout", type=float, default=600, help="Seconds the run may take.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, serving(Path(folder)) as base:
        run_id = screenshot(base, options.phenomenon, options.out, options.height, options.timeout)
    print(f"saved {options.out} (run {run_id})")


class serving:
    """`python -m backend serve --workers 1` on a free port and a throwaway database, stopped on exit."""

    def __init__(self, folder: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.folder = folder

    def __enter__(self) -> str:
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
        os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
        self.log.close()


def screenshot(base: str, phenomenon: str, out: Path, height: int, timeout: float) -> str:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": height}, device_scale_factor=1)
        page.goto(base)
        page.locator(f".phenomenon-{phenomenon}").get_by_role("button", name="Run default").click()
        page.wait_for_url(f"{base}/explore/{phenomenon}?run=*")
        run_id = page.url.rsplit("run=", 1)[1]
        deadline = time.monotonic() + timeout
        while (run := httpx.get(f"{base}/api/runs/{run_id}").json())["status"] in ACTIVE_STATUSES:
            if time.monotonic() > deadline:
                raise SystemExit(f"run {run_id} still {run['status']} after {timeout:.0f} s")
            print(f"\rstep {run['progress']['step']} / {run['progress']['total']}", end="", flush=True)
            page.wait_for_timeout(1000)
        print()
        page.locator(".run-status", has_text=run["status"]).wait_for()
        marks = len(run["summary"].get("transitions", []))
        page.wait_for_function(
            "n => { const gd = document.querySelector('.js-plotly-plot');"
            " return gd && gd.layout && (gd.layout.shapes || []).length >= n; }", arg=marks)
        page.mouse.move(1, 1)  # no hover labels or plot toolbars in the picture
        page.wait_for_timeout(1500)  # the last snapshot refresh and fonts
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        browser.close()
        return run_id


if __name__ == "__main__":
    main()
