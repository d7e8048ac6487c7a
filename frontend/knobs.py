"""The knobs form, generated from a phenomenon's `config_schema` (the JSON Schema of its pydantic Config,
as GET /api/phenomena/{name} returns it), and the typing of knob values that arrive as text (URL query,
Select values).

One input per property, keyed by the property name: integer/number → NumberInput with the schema's
bounds (the range is also spelled out in the help text), enum/Literal → Select, boolean → on/off
SegmentedControl, anything else → TextInput. Every input speaks through its `value` prop, so a page
reads them all with one pattern-matching `ALL` and writes 422 messages back to their `error` props.
"""

import math
from collections.abc import Callable, Mapping
from typing import Any

import dash_mantine_components as dmc
from dash import html

Prop = Mapping[str, Any]


def properties(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """name -> property schema with `$ref` resolved and Optional (`anyOf [X, null]`) unwrapped, in order."""
    defs = schema.get("$defs", {})
    out = {}
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        if "anyOf" in prop:
            options = [p for p in prop["anyOf"] if p.get("type") != "null"]
            if len(options) == 1:
                prop = {**options[0], **{k: v for k, v in prop.items() if k != "anyOf"}, "nullable": True}
        if "$ref" in prop:
            target = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
            prop = {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
        if "const" in prop and "enum" not in prop:
            prop["enum"] = [prop["const"]]
        out[name] = prop
    return out


def kind(prop: Prop) -> str:
    if "enum" in prop:
        return "enum"
    return {"integer": "integer", "number": "number", "boolean": "boolean"}.get(prop.get("type", ""), "string")


def coerce(prop: Prop, value: Any) -> Any:
    """A knob value typed as the schema says; raises ValueError when text cannot be read as that type."""
    if value is None or value == "":
        return None
    match kind(prop):
        case "enum":
            for option in prop["enum"]:
                if value == option or str(value) == str(option):
                    return option
            raise ValueError(f"not one of {', '.join(map(str, prop['enum']))}")
        case "integer":
            number = float(value)
            if not number.is_integer():
                raise ValueError("not a whole number")
            return int(number)
        case "number":
            number = float(value)
            if not math.isfinite(number):
                raise ValueError("not a finite number")
            return number
        case "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("true", "1", "yes", "on"):
                return True
            if text in ("false", "0", "no", "off"):
                return False
            raise ValueError("not true or false")
    return str(value)


def from_query(
    schema: Mapping[str, Any], base: Mapping[str, Any], query: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """(values, problems): the preset's values overlaid with the knobs named in a URL query; a value that
    cannot be read keeps the preset's, and is reported. Keys that are not knobs are left to the caller."""
    values = dict(base)
    problems = []
    for name, prop in properties(schema).items():
        if name not in query:
            continue
        raw = query[name][-1] if isinstance(query[name], list) else query[name]
        try:
            values[name] = coerce(prop, raw)
        except ValueError as exc:
            problems.append(f"{name}={raw!r} in the URL is {exc}; using {base.get(name)!r}")
    return values, problems


def step_for(prop: Prop, value: Any) -> float:
    """Arrow-key step for a float knob: the schema's multipleOf, else a tenth of the value's magnitude."""
    if prop.get("multipleOf"):
        return float(prop["multipleOf"])
    reference = abs(value) if isinstance(value, int | float) and value else None
    if reference is None:
        lo, hi = prop.get("minimum"), prop.get("maximum")
        reference = (hi - lo) if lo is not None and hi is not None and hi > lo else 1.0
    return 10.0 ** (math.floor(math.log10(reference)) - 1)


def _range_text(prop: Prop) -> str:
    lo = prop.get("minimum", prop.get("exclusiveMinimum"))
    hi = prop.get("maximum", prop.get("exclusiveMaximum"))
    if lo is None and hi is None:
        return ""
    if lo is None:
        return f" At most {hi:g}."
    if hi is None:
        return f" At least {lo:g}."
    return f" Range {lo:g} – {hi:g}."


def knob_input(name: str, prop: Prop, value: Any, make_id: Callable[[str], Any], **common: Any) -> Any:
    """The dmc input for one knob. make_id(name) gives its (pattern-matching) id."""
    unit = prop.get("unit")
    label = [html.Span(name, className="knob-name"), html.Span(f" {unit}", className="knob-unit")] if unit \
        else html.Span(name, className="knob-name")
    description = prop.get("description", "")
    common = {"id": make_id(name), "label": label, "size": "xs", **common}
    match kind(prop):
        case "enum":
            return dmc.Select(data=[str(v) for v in prop["enum"]], value=None if value is None else str(value),
                              description=description, allowDeselect=False, **common)
        case "boolean":
            return dmc.Stack([
                dmc.Text(label, size="xs", fw=500),
                dmc.SegmentedControl(id=common["id"], data=[{"label": "on", "value": "true"},
                                                            {"label": "off", "value": "false"}],
                                     value="true" if value else "false", size="xs"),
                dmc.Text(description, size="xs", c="dimmed"),
            ], gap=2)
        case "integer" | "number" as numeric:
            return dmc.NumberInput(
                value=value,
                min=prop.get("minimum", prop.get("exclusiveMinimum")),
                max=prop.get("maximum", prop.get("exclusiveMaximum")),
                step=1 if numeric == "integer" else step_for(prop, value),
                allowDecimal=numeric == "number",
                description=description + _range_text(prop),
                debounce=True,  # send on blur/Enter: a Run click right after typing sees the new value
                **common,
            )
    return dmc.TextInput(value=value, description=description, debounce=True, **common)


def form_values(schema: Mapping[str, Any], names: list[str], raw: list[Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(config, errors) from the inputs' values, in the order of their ids' names."""
    props = properties(schema)
    config, errors = {}, {}
    for name, value in zip(names, raw, strict=True):
        try:
            typed = coerce(props.get(name, {}), value)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if typed is None and not props.get(name, {}).get("nullable"):
            errors[name] = "a value is required"
            continue
        config[name] = typed
    return config, errors
