"""Browser tests: Debian's chromium driven by Playwright against a real `phaselab serve` with one worker."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.servers import ROOT, running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-results" / "e2e"  # screenshots of each check, for a person to look at (gitignored)

if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium: `make chromium` (apt-get install chromium) to run the browser tests",
                allow_module_level=True)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("e2e")
    with running_server(f"sqlite:///{folder / 'e2e.db'}", folder / "server.log", workers=1) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Console:
    """Errors the page logged (failed callbacks, JS exceptions, failed requests): a test ends with none."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def assert_clean(self) -> None:
        assert not self.errors, "errors in the browser console:\n" + "\n".join(self.errors)


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def new_page(browser, console: Console) -> Iterator[Callable[[], object]]:
    """new_page() -> a fresh 1280×800 page (own context) whose console errors are collected."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        console.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_run(base: str, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{base}/api/runs/{run_id}", timeout=5).json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")


def query(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def wait_until(page, check, timeout: float = 60):
    """Poll `check` until truthy; waiting through the page lets Playwright take in its events (page.url)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"not true within {timeout}s: {check}")


def graph_state(page, css: str) -> dict:
    """What a dcc.Graph shows: points per trace, the last x of each, trace names, the labels and x of its
    vertical marks, the axes' types and titles, and the names and title of its legend (nothing yet: empty
    lists, so a wait_until can keep polling)."""
    return page.evaluate(
        """css => { const gd = document.querySelector(css + ' .js-plotly-plot');
        if (!gd || !gd.data) return {points: [0], last: [null], names: [], marks: [], mark_x: [], xtype: null,
                                     ytype: null, xtitle: null, legend: [], legend_title: null};
        const layout = gd.layout || {}, title = a => a && a.title && (a.title.text || '');
        const shapes = layout.shapes || [];
        return {
            points: gd.data.map(t => (t.x || []).length),
            last: gd.data.map(t => (t.x && t.x.length) ? t.x[t.x.length - 1] : null),
            names: gd.data.map(t => t.name),
            marks: shapes.map(s => (s.label && s.label.text) || ''),
            mark_x: shapes.filter(s => s.xref === 'x').map(s => s.x0),
            xtype: layout.xaxis && layout.xaxis.type,
            ytype: layout.yaxis && layout.yaxis.type,
            xtitle: title(layout.xaxis),
            legend: [...gd.querySelectorAll('.legend .legendtext')].map(e => e.textContent),
            legend_title: ((gd.querySelector('.legend .legendtitletext') || {}).textContent) || null,
        }; }""",
        css,
    )


def svg_texts(page, css: str) -> list[str]:
    """Every piece of text drawn in the plot of `css` (tick labels, titles, labels of marks and fits)."""
    return page.evaluate(
        "css => [...document.querySelectorAll(css + ' .js-plotly-plot svg text')].map(e => e.textContent)", css)
