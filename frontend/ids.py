"""Component ids. Each carries its page's prefix, so two pages (or the run view inside two pages) never
collide; pattern-matching ids are dicts whose `type` carries the prefix."""

from dataclasses import dataclass
from typing import Any

from dash import ALL


@dataclass(frozen=True)
class RunView:
    """Ids of the live run panel (status, claims, charts, snapshots) inside page `page`."""

    page: str

    def _id(self, name: str) -> str:
        return f"{self.page}-{name}"

    @property
    def run(self) -> str:  # Store: {"id": run_id} or None: which run the panel follows
        return self._id("run")

    @property
    def spec(self) -> str:  # Store: the phenomenon's charts, snapshot views and claims
        return self._id("spec")

    @property
    def cursor(self) -> str:  # Store, kept in the browser: what the charts hold (API cursor, last x per trace)
        return self._id("cursor")

    @property
    def drawn(self) -> str:  # Store: what the server drew whole (charts' states), for the browser to take over
        return self._id("drawn")

    @property
    def stream(self) -> str:  # Store: the URL of the run's event stream the browser follows (None: none)
        return self._id("stream")

    @property
    def events(self) -> str:  # Store: a counter the stream bumps; the events wait in the browser's queue
        return self._id("events")

    @property
    def live(self) -> str:  # Store: the run as last read (a draw, or the stream; throttled), or its error
        return self._id("live")

    @property
    def progress_text(self) -> str:  # the status panel's "step 480 / 1,000", updated in the browser
        return self._id("progress-text")

    @property
    def progress_bar(self) -> str:
        return self._id("progress-bar")

    @property
    def claims_shown(self) -> str:  # Store: what the claims panel shows, so it is redrawn only on change
        return self._id("claims-shown")

    @property
    def snapshots_cursor(self) -> str:  # Store: the snapshot steps known and shown, per view
        return self._id("snapshots-cursor")

    @property
    def status(self) -> str:
        return self._id("status")

    @property
    def claims(self) -> str:
        return self._id("claims")

    def chart(self, chart_id: str | Any = ALL) -> dict[str, Any]:
        return {"type": self._id("chart"), "chart": chart_id}

    def card(self, chart_id: str | Any = ALL) -> dict[str, Any]:  # a chart's whole card (hidden: optional, empty)
        return {"type": self._id("card"), "chart": chart_id}

    def legend(self, chart_id: str | Any = ALL) -> dict[str, Any]:  # a chart card's legend (HTML)
        return {"type": self._id("legend"), "chart": chart_id}

    def snapshot(self, name: str | Any = ALL) -> dict[str, Any]:
        return {"type": self._id("snapshot"), "name": name}

    def slider(self, name: str | Any = ALL) -> dict[str, Any]:  # a matrix view's steps
        return {"type": self._id("snapshot-slider"), "name": name}


class Explore:
    URL = "explore-url"
    PRESET = "explore-preset"
    PRESET_INFO = "explore-preset-info"  # what the chosen preset demonstrates
    SEED = "explore-seed"
    RUN = "explore-run-button"
    CANCEL = "explore-cancel-button"
    ALERT = "explore-alert"
    FORM_STATE = "explore-form-state"  # Store: schema and presets, for the callbacks
    VIEW = RunView("explore")

    @staticmethod
    def knob(name: str | Any = ALL) -> dict[str, Any]:
        return {"type": "explore-knob", "name": name}


class RunPage:
    VIEW = RunView("run")


class Runs:
    URL = "runs-url"
    PHENOMENON = "runs-phenomenon"
    STATUS = "runs-status"
    TABLE = "runs-table"
    PAGINATION = "runs-pagination"
    COUNT = "runs-count"
    COMPARE = "runs-compare"

    @staticmethod
    def pick(run_id: str | Any = ALL) -> dict[str, Any]:
        return {"type": "runs-pick", "run": run_id}


class Compare:
    URL = "compare-url"
    RUNS = "compare-runs"
    CHART = "compare-chart"
    LOG_X = "compare-log-x"
    LOG_Y = "compare-log-y"
    SMOOTHING = "compare-smoothing"
    GRAPH = "compare-graph"
    ALERT = "compare-alert"
