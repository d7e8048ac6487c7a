"""End to end, the other phenomena as a visitor sees them: a sweep along p (double descent), a family of
widths with a fitted power law and a matrix scrubbed over training (superposition), verdicts a contrast
preset expects. Each trains its smallest preset (a second or two on an idle machine)."""

import re

import httpx
import pytest

from tests.e2e.conftest import graph_state, screenshot, svg_texts, wait_for_run, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def run_preset(server: str, page, phenomenon: str, preset: str) -> dict:
    """Open the explorer on `preset`, press Run, wait until the page shows the run finished; the run."""
    page.goto(f"{server}/explore/{phenomenon}?preset={preset}")
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".run-status", has_text="succeeded").wait_for(timeout=180_000)
    run_id = page.locator(".run-link").inner_text().removeprefix("run ").strip()
    run = wait_for_run(server, run_id)
    assert run["status"] == "succeeded", run["error"]
    return run


def legend(page, chart: str) -> list[str]:
    """The names in a chart card's own legend (HTML, above the plot)."""
    card = page.locator(".mantine-Card-root", has=page.locator(f".chart-{chart}"))
    return card.locator(".legend-item").all_inner_texts()


def claim_row(page, spec: dict, claim_id: str):
    text = next(c["text"] for c in spec["claims"] if c["id"] == claim_id)
    return page.locator(".claim", has_text=text[:60])


def test_double_descent_charts_against_p_with_the_threshold_marked(server, new_page, console):
    spec = httpx.get(f"{server}/api/phenomena/double_descent").json()
    axis = next(a for a in spec["axes"] if a["id"] == "p")
    page = new_page()
    run = run_preset(server, page, "double_descent", "tiny")
    n, total = run["config"]["n_train"], run["progress"]["total"]

    # The status counts along the sweep's axis, p, not steps.
    progress = page.locator(".run-progress-text").inner_text()
    assert re.search(rf"\bp {total:,.0f} / {total:,.0f}$", progress) and "step" not in progress, progress

    for chart in ("error", "readout_norm"):
        wait_until(page, lambda chart=chart: graph_state(page, f".chart-{chart}")["last"][0] == total)
        state = graph_state(page, f".chart-{chart}")
        assert state["xtitle"] == axis["label"] and state["xtype"] == "log"
        # The interpolation threshold p = n: a line at x = n, labelled.
        assert any("p = n" in label and x == n for label, x in zip(state["marks"], state["mark_x"], strict=False)), \
            state
    assert "p = n" in " ".join(svg_texts(page, ".chart-error"))
    # No ridge: no minimum-norm baseline is drawn, and the legend does not name one.
    labels = {m["name"]: m["label"] for m in spec["metrics"]}
    assert legend(page, "error") == [labels["test/mse"], labels["train/mse"]]
    screenshot(page, "double-descent-tiny")
    console.assert_clean()


def test_double_descent_contrast_preset_reads_as_the_paper_predicts(server, new_page, console):
    spec = httpx.get(f"{server}/api/phenomena/double_descent").json()
    expect = spec["preset_info"]["small_ridge"]["expect"]
    assert expect == {"peak_at_n": "not_applicable", "ridge_removes_peak": "fail"}  # what this test is about
    page = new_page()
    run = run_preset(server, page, "double_descent", "small_ridge")
    verdicts = {c["id"]: c["verdict"] for c in run["summary"]["claims"]}
    assert verdicts == expect

    # Too small a ridge does not remove the peak: the paper predicts it, so it is confirmed, not a red ✗.
    ridge = claim_row(page, spec, "ridge_removes_peak")
    ridge.locator(".claim-verdict", has_text="as the paper predicts").wait_for()
    assert "does not hold" in ridge.locator(".claim-verdict").inner_text()
    assert "✗" not in ridge.inner_text() and "claim-as-predicted" in ridge.get_attribute("class")
    # The peak claim is about the ridgeless fit: it does not apply here, and that is no failure either. It is
    # folded under one line, opened with a click.
    assert page.locator(".claims-aside-summary").inner_text().startswith("1 more claim about knobs")
    page.locator(".claims-aside-summary").click()
    peak = claim_row(page, spec, "peak_at_n")
    assert "does not apply" in peak.locator(".claim-verdict").inner_text()
    assert "✗" not in peak.inner_text() and "claim-as-predicted" in peak.get_attribute("class")
    assert page.locator(".claim-fail:not(.claim-as-predicted), .claim-expected").count() == 0
    # With a ridge, the minimum-norm fit on the same draws is drawn dashed, and named in the legend.
    baseline = next(m["label"] for m in spec["metrics"] if m["name"] == "test/mse_ridgeless")
    wait_until(page, lambda: baseline in legend(page, "error"))
    assert baseline in graph_state(page, ".chart-error")["names"]
    screenshot(page, "double-descent-small-ridge")
    console.assert_clean()


def test_superposition_family_fit_and_scrubbing_the_matrix(server, new_page, console):
    spec = httpx.get(f"{server}/api/phenomena/superposition").json()
    family = next(f for f in spec["families"] if f["id"] == "m")
    page = new_page()
    run = run_preset(server, page, "superposition", "tiny")
    widths = run["members"]["m"]
    steps = run["config"]["steps"]

    # Training loss: one line per width, the legend naming each by the family's parameter.
    wait_until(page, lambda: graph_state(page, ".chart-loss")["last"][:len(widths)] == [steps] * len(widths))
    loss = graph_state(page, ".chart-loss")
    assert loss["legend"] == [f"m = {m:g}" for m in widths], loss
    assert "".join(loss["legend_title"].split()) == "".join(family["label"].split())  # wrapped over lines

    # Loss against width: the fitted slope with its 95 % interval, as the run's summary has it.
    fit = run["summary"]["fits"]["loss_vs_m"]
    wait_until(page, lambda: any(re.search(r"slope −?\d\.\d+ \[−?\d\.\d+, −?\d\.\d+\]", text)
                                 for text in svg_texts(page, ".chart-loss_vs_m")))
    label = next(t for t in svg_texts(page, ".chart-loss_vs_m") if "slope" in t)
    shown = [float(v.replace("−", "-")) for v in re.findall(r"−?\d\.\d+", label)]
    assert shown == pytest.approx([fit["slope"], *fit["interval"]], abs=0.01), label

    # WᵀW: a slider over the stored steps; moving it shows another step.
    title = lambda: graph_state(page, ".snapshot-wtw")["xtitle"] or ""  # noqa: E731
    wait_until(page, lambda: title().endswith(f"step {steps:,}"))
    thumb = page.locator(".slider-wtw [role=slider]")
    assert thumb.get_attribute("aria-valuenow") == thumb.get_attribute("aria-valuemax") != "0"
    thumb.focus()
    thumb.press("Home")
    wait_until(page, lambda: title().endswith("step 0"))
    thumb.press("ArrowRight")
    stored = httpx.get(f"{server}/api/runs/{run['id']}/snapshots").json()["snapshots"]["wtw"]["steps"]
    wait_until(page, lambda: title().endswith(f"step {stored[1]:,}"))
    screenshot(page, "superposition-tiny")
    console.assert_clean()


def test_an_optional_chart_appears_when_its_knob_is_on(server, new_page, console):
    page = new_page()
    run = run_preset(server, page, "grokking", "grokfast")
    assert run["config"]["grokfast_lambda"] > 0
    page.locator(".chart-grokfast").wait_for(state="visible")
    wait_until(page, lambda: len(graph_state(page, ".chart-grokfast")["names"]) == 2)  # λ = 0 and λ, side by side
    assert page.locator(".chart-label_noise").is_hidden()  # no label noise in this preset
    screenshot(page, "grokking-grokfast")
