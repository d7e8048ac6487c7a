"""A malformed phenomenon is caught when the catalogue loads, with a message naming it and the part."""

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from workers import phenomena
from workers.phenomena.contract import (
    Chart,
    ClaimResult,
    FitLine,
    Metric,
    PhenomenonError,
    Preset,
    Reference,
    check,
    problems,
)

ROOT = Path(__file__).resolve().parents[2]
GOOD = phenomena.load("double_descent")


@pytest.mark.parametrize(("change", "words"), [
    ({"charts": [Chart(id="c", title="t", x="p", metrics=["nope"])]}, "charts[c]: metric 'nope' is not declared"),
    ({"charts": [Chart(id="c", title="t", x="step", metrics=["test/mse"])]}, "axis 'step' is not declared"),
    ({"charts": [Chart(id="c", title="t", x="p", metrics=["test/mse"], kind="band")]}, "a band needs a family"),
    ({"charts": [Chart(id="c", title="t", x="p", metrics=["test/mse"], fit=FitLine(metric="x"))]},
     "metric 'x' is not declared"),
    ({"charts": [Chart(id="c", title="t", x="p", metrics=["test/mse"],
                       references=[Reference(label="r", value="missing")])]}, "'missing' is not a derived value"),
    ({"metrics": [*GOOD.metrics, Metric(name="w", axis="angle")]}, "metrics[w]: axis 'angle' is not declared"),
    ({"metrics": [*GOOD.metrics, Metric(name="w", axis="p", family="seed")]}, "family 'seed' is not declared"),
    ({"progress_axis": "step"}, "progress_axis: 'step' is not one of its axes"),
    ({"presets": {"tiny": GOOD.presets["tiny"]}}, "presets: there is no 'default' preset"),
    ({"presets": {**GOOD.presets, "x": Preset(GOOD.presets["default"].config, "t", "d", expect={"nope": "fail"})}},
     "expects a verdict of unknown claim 'nope'"),
    ({"claims": [*GOOD.claims, GOOD.claims[0]]}, "claims: 'peak_at_n' is declared twice"),
    ({"derived": lambda config: {"n": 1 / 0}}, "derived: raised ZeroDivisionError"),
])
def test_each_malformed_part_is_named(change, words):
    broken = replace(GOOD, **change)
    found = problems(broken)
    assert any(words in p for p in found), found
    with pytest.raises(PhenomenonError, match="phenomenon 'double_descent'"):
        check(broken)


def test_a_whole_phenomenon_has_no_problems():
    for name in phenomena.names():
        assert problems(phenomena.load(name)) == []


def test_a_pass_or_fail_without_its_value_is_refused():
    with pytest.raises(ValueError, match="must carry its measured value"):
        ClaimResult(verdict="pass")
    assert ClaimResult(verdict="inconclusive", detail="too short").value is None
    with pytest.raises(ValueError, match="must carry its measured value"):
        ClaimResult(verdict="fail", value=float("nan"))  # a value that is not a number is no value


BROKEN_SPEC = '''
from workers.phenomena.double_descent.spec import PHENOMENON as GOOD
from dataclasses import replace
from workers.phenomena.contract import Chart
PHENOMENON = replace(GOOD, name="broken", charts=[Chart(id="c", title="t", x="p", metrics=["nope"])])
'''

PROBE = '''
import sys
import workers.phenomena as catalogue
catalogue.__path__.append(sys.argv[1])
from backend.cli import main
sys.argv = ["phaselab", "serve", "--workers", "0", "--port", "1"]
main()
'''


def test_serve_stops_at_start_with_one_line_naming_the_phenomenon_and_the_part(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "__init__.py").write_text("")
    (tmp_path / "broken" / "spec.py").write_text(textwrap.dedent(BROKEN_SPEC))
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={"PHASELAB_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "phaselab: the catalogue is broken: phenomenon 'broken': charts[c]: metric 'nope' is not declared"]
