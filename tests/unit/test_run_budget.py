"""One run's compute, estimated from its knobs (each phenomenon's `Config.cost`), against one budget.

The conformance suite checks every phenomenon generally (every preset fits, the largest first knob that fits is
found); here: the contract refuses a phenomenon that declares no cost, the message reads as a person would write
it, and runs that used to be refused by each phenomenon's own cap, or by none, are over the default budget.
"""

from dataclasses import replace

import pytest
from pydantic import Field

from backend.store.settings import Settings
from workers import phenomena
from workers.phenomena.contract import PhenomenonConfig, Preset, duration, over_budget, problems

BUDGET = Settings.model_fields["max_run_cpu_seconds"].default


@pytest.mark.parametrize(("seconds", "text"), [(12, "12 s"), (600, "10 min"), (33_000, "9.2 h"), (450_000, "5.2 days")])
def test_durations_read_as_a_person_says_them(seconds, text):
    assert duration(seconds) == text


def test_a_phenomenon_that_declares_no_cost_does_not_load():
    class NoCost(PhenomenonConfig):
        steps: int = Field(10, ge=1, le=100, description="Steps.")

        @property
        def progress_total(self) -> float:
            return float(self.steps)

    good = phenomena.load("double_descent")
    broken = replace(good, config=NoCost, presets={"default": Preset(NoCost(), "t", "d")})
    assert "presets[default]: cost: raised NotImplementedError" in problems(broken)


def test_the_issue_example_would_train_for_hours_and_is_refused():
    """grokking, steps 100000, width 2048, embed_dim 512: accepted before, ~9 h on one thread."""
    config = phenomena.load("grokking").config(steps=100_000, width=2048, embed_dim=512)
    over = over_budget(config, BUDGET, "PHASELAB_MAX_RUN_CPU_SECONDS")
    assert over is not None and 6 * 3600 < over.seconds < 14 * 3600
    assert over.message.startswith("this run would take about 9.2 h of one CPU thread (steps × p³ × width = 1.9e+14")
    assert "over the limit of 10 min (PHASELAB_MAX_RUN_CPU_SECONDS): at p = 97 and width = 2048, use at most " \
        f"{over.fits:,} steps, or lower p or width" in over.message


@pytest.mark.parametrize(("name", "knobs", "first"), [
    # refused by their own caps before, by the budget now
    ("edge_of_stability", {"steps": 20_000, "n_train": 1797, "width": 512, "depth": 4}, "steps"),
    ("neural_collapse", {"width": 512, "depth": 6, "train_per_class": 120, "batch_size": 10, "epochs": 3000}, "epochs"),
    ("label_noise", {"width": 1024, "depth": 4, "epochs": 400, "batch_size": 16}, "epochs"),
    # no cap at all before: days of compute were one POST away
    ("superposition", {"n_features": 2048, "m_min": 8, "m_max": 512, "n_widths": 12, "batch_size": 4096,
                       "steps": 100_000, "snapshot_m": 8}, "steps"),
    ("double_descent", {"n_train": 500, "p_min": 10, "p_max": 4000, "n_points": 200, "n_seeds": 20, "d": 100,
                        "ridge": 1.0}, "n_seeds"),
])
def test_the_largest_runs_of_every_phenomenon_are_over_the_default_budget(name, knobs, first):
    ph = phenomena.load(name)
    config = ph.config.model_validate({**ph.presets["default"].config.model_dump(), **knobs})
    over = over_budget(config, BUDGET)
    assert over is not None and over.knob == first, name
    if over.fits is not None:
        assert config.model_copy(update={first: over.fits}).cost.seconds <= BUDGET


def test_the_held_out_set_the_superposition_estimate_counts_is_the_trainers():
    from workers.phenomena.superposition import config, train

    assert config.HELD_OUT == train.EVAL_SAMPLES


def test_the_test_set_the_double_descent_estimate_counts_is_the_datas():
    from workers.phenomena.double_descent import data, spec

    assert spec.TEST_POINTS == data.N_TEST
