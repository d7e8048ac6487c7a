"""`phaselab science`, for real: every preset of every phenomenon on 3 seeds, each claim at the verdict its
preset expects. Minutes of CPU (CI runs it; `make test PYTEST_ARGS="-m 'not science'"` skips it)."""

import subprocess
import sys

import pytest

from tests.servers import ROOT
from workers import phenomena


@pytest.mark.science
@pytest.mark.timeout(2400)
def test_every_preset_reaches_the_verdicts_it_expects_on_three_seeds():
    out = subprocess.run([sys.executable, "-m", "backend", "science", "--seeds", "3", "--jobs", "2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=2400)
    print(out.stdout[-20000:])
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-4000:]
    assert "every claim reached its expected verdict on every seed" in out.stdout
    for name in phenomena.names():  # every phenomenon of the catalogue was trained
        assert f"{name}/default seed 2" in out.stdout, name
