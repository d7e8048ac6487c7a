"""URLs of the pages: the one place that knows their query strings, so every link round-trips."""

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode


def query_value(value: Any) -> str:
    """How a knob value is written in a URL: shortest round-tripping text (0.005, 1e-05, true)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def explore_query(
    config: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
    preset: str | None = None,
    seed: int | None = 0,
    run_id: str | None = None,
) -> str:
    """`?knob=value&...` with only the knobs that differ from `defaults` (the chosen preset's values),
    then preset (unless default), seed (unless 0) and the run shown. Empty string when nothing to say."""
    params = {k: query_value(v) for k, v in config.items()
              if v is not None and (defaults is None or not _same(defaults.get(k), v))}
    if preset and preset != "default":
        params["preset"] = preset
    if seed:
        params["seed"] = str(seed)
    if run_id:
        params["run"] = run_id
    return "?" + urlencode(params, safe="/*+,") if params else ""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


def explore_href(phenomenon: str, config: Mapping[str, Any] | None = None,
                 defaults: Mapping[str, Any] | None = None, seed: int | None = 0,
                 run_id: str | None = None) -> str:
    return f"/explore/{phenomenon}" + explore_query(config or {}, defaults, None, seed, run_id)


def run_href(run_id: str) -> str:
    return f"/runs/{run_id}"


def runs_query(phenomenon: str | None = None, status: str | None = None, page: int = 1) -> str:
    params = {k: v for k, v in {"phenomenon": phenomenon, "status": status}.items() if v}
    if page > 1:
        params["page"] = str(page)
    return "?" + urlencode(params) if params else ""


def runs_href(phenomenon: str | None = None, status: str | None = None, page: int = 1) -> str:
    return "/runs" + runs_query(phenomenon, status, page)


def compare_href(run_ids: Sequence[str], **options: Any) -> str:
    params = {"runs": ",".join(run_ids), **{k: query_value(v) for k, v in options.items() if v is not None}}
    return "/compare?" + urlencode(params, safe=",")


def csv_href(run_id: str) -> str:
    """Relative, so the browser downloads from the host it is on (the UI's api_url may be internal)."""
    return f"/api/runs/{run_id}/metrics?format=csv"
