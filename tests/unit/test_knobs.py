"""The knobs form is generated from a Config's JSON Schema; URL text is typed by the same schema."""

from typing import Literal

import dash_mantine_components as dmc
import pytest
from pydantic import BaseModel, Field

from frontend import knobs
from frontend.links import explore_query, query_value


class Config(BaseModel):
    p: int = Field(97, ge=3, le=257, description="Prime modulus.")
    operation: Literal["+", "-", "*", "/"] = Field("+", description="The operation.")
    train_frac: float = Field(0.5, ge=0.05, le=0.95, description="Training fraction.")
    lr: float = Field(5e-3, ge=1e-5, le=0.1, description="Learning rate.")
    steps: int = Field(1000, ge=10, description="Steps.", json_schema_extra={"unit": "steps"})
    bias: bool = Field(True, description="Use a bias.")
    width: int | None = Field(None, ge=1, description="Optional width.")


SCHEMA = Config.model_json_schema()
DEFAULTS = Config().model_dump()


def make_id(name: str) -> dict:
    return {"type": "t-knob", "name": name}


def test_every_property_gets_an_input_of_its_kind():
    props = knobs.properties(SCHEMA)
    assert list(props) == list(Config.model_fields)
    made = {name: knobs.knob_input(name, prop, DEFAULTS[name], make_id) for name, prop in props.items()}
    assert isinstance(made["p"], dmc.NumberInput) and made["p"].allowDecimal is False
    assert (made["p"].min, made["p"].max, made["p"].step) == (3, 257, 1)
    assert "Range 3 – 257." in made["p"].description and made["p"].description.startswith("Prime modulus.")
    assert isinstance(made["operation"], dmc.Select) and made["operation"].data == ["+", "-", "*", "/"]
    assert isinstance(made["train_frac"], dmc.NumberInput) and made["train_frac"].allowDecimal is True
    assert [span.children for span in made["steps"].label] == ["steps", " steps"]  # the unit beside the name
    assert isinstance(made["width"], dmc.NumberInput) and made["width"].min == 1  # Optional[int] unwrapped
    assert made["p"].id == {"type": "t-knob", "name": "p"}


def test_float_steps_follow_the_values_magnitude():
    props = knobs.properties(SCHEMA)
    assert knobs.step_for(props["lr"], 5e-3) == pytest.approx(1e-4)
    assert knobs.step_for(props["train_frac"], 0.5) == pytest.approx(0.01)
    assert knobs.step_for({"minimum": 0, "maximum": 10}, 0) == pytest.approx(1)


def test_url_text_is_typed_by_the_schema_and_bad_values_are_reported():
    query = {"p": "11", "train_frac": "0.3", "operation": "/", "bias": "false", "lr": "fast", "other": "x"}
    values, problems = knobs.from_query(SCHEMA, DEFAULTS, query)
    assert values["p"] == 11 and values["train_frac"] == 0.3 and values["operation"] == "/"
    assert values["bias"] is False
    assert values["lr"] == DEFAULTS["lr"] and len(problems) == 1 and "lr='fast'" in problems[0]
    assert "other" not in values


def test_form_values_need_a_value_for_required_knobs_only():
    names = ["p", "operation", "width", "bias"]
    config, errors = knobs.form_values(SCHEMA, names, [None, "*", None, "true"])
    assert errors == {"p": "a value is required"}
    assert config == {"operation": "*", "width": None, "bias": True}
    assert knobs.form_values(SCHEMA, ["p"], [7.5])[1] == {"p": "not a whole number"}


def test_the_url_holds_only_what_differs_and_round_trips():
    config = {**DEFAULTS, "p": 11, "lr": 1e-05, "train_frac": 0.3}
    query = explore_query(config, DEFAULTS, "tiny", 3, "run123")
    assert query == "?p=11&train_frac=0.3&lr=1e-05&preset=tiny&seed=3&run=run123"
    parsed = dict(part.split("=") for part in query[1:].split("&"))
    values, problems = knobs.from_query(SCHEMA, DEFAULTS, parsed)
    assert not problems and values == config
    assert explore_query(DEFAULTS, DEFAULTS) == ""


@pytest.mark.parametrize(("value", "text"), [(1.0, "1"), (0.5, "0.5"), (1e-5, "1e-05"), (True, "true"), (97, "97"),
                                             ("/", "/")])
def test_query_values_are_short(value, text):
    assert query_value(value) == text
