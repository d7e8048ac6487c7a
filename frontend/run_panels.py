"""A run's status and the paper's claims checked on it: pure functions of GET /api/runs/{id} to components.

Progress is told on the axis the run advances along ("step 480 / 1,000" while training, "features p 600 /
1,000" through a sweep). A claim shows one of five verdicts, its measured value with unit and 95 % interval,
and how the verdict compares with what the run's preset expects: a contrast preset (the paper predicts the
claim fails, or does not apply, on this configuration) that gets exactly that is confirmed, not a red ✗.
"""

from collections.abc import Mapping
from typing import Any, NamedTuple

import dash_mantine_components as dmc
from dash import html

from backend.store.vocabulary import ACTIVE_STATUSES, RunStatus
from frontend.ids import RunView
from frontend.links import run_href
from frontend.numbers import measured, number

ACTIVE = ACTIVE_STATUSES
STATUS_COLORS = {RunStatus.QUEUED: "gray", RunStatus.RUNNING: "blue", RunStatus.SUCCEEDED: "teal",
                 RunStatus.FAILED: "red", RunStatus.CANCELLED: "orange"}


class Look(NamedTuple):
    symbol: str
    color: str
    word: str


VERDICTS = {
    "pass": Look("✓", "teal", "holds"),
    "fail": Look("✗", "red", "does not hold"),
    "not_yet": Look("…", "gray", "not yet"),
    "inconclusive": Look("?", "yellow", "inconclusive"),
    "not_applicable": Look("–", "grape", "does not apply here"),
}
CONFIRMED = Look("✓", "teal", "")  # a verdict other than pass that the paper predicts for this preset
PREDICTED = "as the paper predicts"


def progress_text(run: Mapping[str, Any]) -> str:
    """"step 480 / 1,000": the run's progress axis label, where it is on it, and where it ends; a resumed
    attempt says where it picked up, so progress that went back never reads as training that regressed."""
    progress = run.get("progress") or {}
    label = progress.get("label") or progress.get("axis") or "step"
    where = f"{label} {number(progress.get('x'))} / {number(progress.get('total'))}"
    resumed = progress.get("resumed_from")
    if resumed is not None and run.get("status") in (RunStatus.RUNNING, RunStatus.QUEUED):
        where += f" · resumed from its checkpoint at {label} {number(resumed)} (attempt {run.get('attempts')})"
    return where


def progress_percent(run: Mapping[str, Any]) -> float:
    progress = run.get("progress") or {}
    x, total = progress.get("x"), progress.get("total")
    return min(100.0, max(0.0, 100 * x / total)) if x is not None and total else 0.0


def status_panel(run: Mapping[str, Any] | None, ids: RunView | None = None) -> Any:
    """The run's status, progress and where it trains. With `ids`, its progress text and bar carry them: the
    browser moves them on as the event stream reports progress (assets/live.js), with no server call."""
    if run is None:
        return dmc.Group([dmc.Badge("no run yet", color="gray", variant="light"),
                          dmc.Text("Set the knobs and press Run; the curves appear here as the model trains.",
                                   size="sm", c="dimmed")])
    status = run["status"]
    where = " · ".join(str(part) for part in (run.get("device"), run.get("worker")) if part)
    rows = [
        dmc.Group([
            dmc.Badge(status, color=STATUS_COLORS.get(status, "gray"), variant="filled" if status == RunStatus.RUNNING
                      else "light", className="run-status", size="lg"),
            dmc.Text(progress_text(run), size="sm", fw=500, className="run-progress-text",
                     **({"id": ids.progress_text} if ids else {})),
            dmc.Text(where, size="xs", c="dimmed"),
            dmc.Anchor(f"run {run['id']}", href=run_href(run["id"]), size="sm", className="run-link", ml="auto"),
        ], gap="sm"),
        dmc.Progress(value=progress_percent(run), color=STATUS_COLORS.get(status, "gray"),
                     striped=status == RunStatus.RUNNING, size="sm", mt=8, **({"id": ids.progress_bar} if ids else {})),
    ]
    if run.get("error"):
        rows.append(dmc.Alert(run["error"], color="red", title="The run failed", mt="sm"))
    if run.get("waiting"):
        rows.append(dmc.Alert(run["waiting"], color="yellow", title="Waiting for a worker", mt="sm",
                              className="run-waiting"))
    return rows


class Outcome(NamedTuple):
    look: Look
    note: str  # "expected: holds" where the verdict differs from the preset's expectation, else ""
    predicted: bool  # a verdict other than pass, and the one the preset expects


def verdict_look(result: Mapping[str, Any]) -> Outcome:
    """How a claim's outcome is shown. Expected and equal, not pass: confirmed ("does not hold, as the
    paper predicts"). Expected and different: the verdict's own look, and "expected: holds". Before a
    verdict (not yet), no note."""
    verdict = result.get("verdict", "not_yet")
    look = VERDICTS.get(verdict, VERDICTS["inconclusive"])
    expected = result.get("expected")
    if expected is None or verdict == "not_yet" or verdict == expected == "pass":
        return Outcome(look, "", False)
    if verdict == expected:
        return Outcome(CONFIRMED._replace(word=f"{look.word}, {PREDICTED}"), "", True)
    expected_word = VERDICTS[expected].word if expected in VERDICTS else str(expected)
    return Outcome(look, f"expected: {expected_word}", False)


def claim_row(claim: Mapping[str, Any], result: Mapping[str, Any]) -> Any:
    look, note, predicted = verdict_look(result)
    value = measured(result.get("value"), result.get("interval"), result.get("unit") or claim.get("unit", ""))
    line: list[Any] = [dmc.Text(look.word, span=True, fw=600, c=look.color, className="claim-verdict")]
    if value:
        line += [" · ", dmc.Text(value, span=True, fw=500, className="claim-value")]
    if result.get("detail"):
        line.append(f" — {result['detail']}")
    body: list[Any] = [dmc.Text(result.get("text") or claim["text"], size="sm"), dmc.Text(line, size="xs", c="dimmed")]
    if note:
        body.append(dmc.Badge(note, color="yellow", variant="light", size="xs", className="claim-expected"))
    if result.get("error"):
        body.append(dmc.Text(result["error"], size="xs", c="red", ff="monospace", className="claim-error"))
    verdict = result.get("verdict", "not_yet")
    return dmc.Group([
        dmc.ThemeIcon(look.symbol, color=look.color, variant="light", radius="xl", size="md"),
        html.Div(body, style={"flex": 1}),
    ], align="flex-start", wrap="nowrap", gap="sm",
        className=f"claim claim-{verdict}" + (" claim-as-predicted" if predicted else ""))


def claims_panel(claims: list[Mapping[str, Any]], run: Mapping[str, Any] | None) -> Any:
    """Each claim of the paper with its verdict on this run (not yet, before it has data), then any part of
    the summary that could not be computed (a detector or fit that raised)."""
    summary = (run or {}).get("summary") or {}
    measured_by_id = {c["id"]: c for c in summary.get("claims", [])}
    results = [(claim, measured_by_id.get(claim["id"], {"verdict": "not_yet"})) for claim in claims]
    # Claims about knobs this run leaves off (not applicable, as its preset expects) fold into one line.
    aside = [(c, r) for c, r in results if r.get("verdict") == r.get("expected") == "not_applicable"]
    items = [claim_row(c, r) for c, r in results if (c, r) not in aside]
    if aside:
        items.append(html.Details([
            html.Summary(f"{len(aside)} more claim{'s' if len(aside) > 1 else ''} about knobs this run leaves off: "
                         "not applicable here", className="claims-aside-summary"),
            dmc.Stack([claim_row(c, r) for c, r in aside], gap=6, mt=6),
        ], className="claims-aside"))
    errors = [dmc.Text(f"⚠ {error}", size="xs", c="orange.8", className="summary-error")
              for error in summary.get("errors", [])]
    if not items and not errors:
        return None
    return dmc.Stack([dmc.Text("The paper's claims, checked on this run", size="xs", fw=700, c="dimmed", tt="uppercase"),
                      *items, *errors], gap=6)


def claims_key(run: Mapping[str, Any] | None) -> list[Any]:
    """What the claims panel shows of a run: when it changes, the panel is drawn again."""
    summary = (run or {}).get("summary") or {}
    return [summary.get("claims", []), summary.get("errors", [])]
