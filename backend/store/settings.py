"""Typed settings: every knob of a deployment, read from PHASELAB_* environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.store.vocabulary import Queue


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHASELAB_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Folder for the default SQLite database.")
    database_url: str = Field(
        "", description="SQLAlchemy URL. Empty: sqlite:///<data_dir>/phaselab.db. PostgreSQL: postgresql+psycopg://..."
    )
    host: str = Field("127.0.0.1", description="Address `phaselab serve` binds.")
    port: int = Field(8050, ge=1, le=65535, description="Port `phaselab serve` binds.")
    api_url: str = Field("", description="Base URL the UI uses to reach the API. Empty: the serving address.")
    default_queue: Queue = Field(Queue.CPU, description="Queue a new run goes to unless it names one.")
    lease_seconds: float = Field(30.0, gt=0, description="A running run whose worker is silent this long is re-queued.")
    heartbeat_seconds: float = Field(2.0, gt=0, description="How often a worker renews its lease while training.")
    checkpoint_seconds: float = Field(5.0, gt=0, description="How often a worker checkpoints a run into the database.")
    # 1000, not 100: each write is one fenced transaction with ~0.6 ms of fixed cost (the fencing UPDATE, the
    # commit), more than half of a 100-row write (bench/curves.py); how late a point reaches readers is bounded
    # by flush_seconds, which applies whatever the count, so only a fast logger sees the difference: 10x fewer writes.
    flush_rows: int = Field(1000, ge=1, description="Metric rows buffered before a write (flush_seconds bounds "
                            "how long one waits).")
    flush_seconds: float = Field(0.5, gt=0, description="Longest time a metric row waits in the buffer.")
    max_attempts: int = Field(3, ge=1, description="Attempts before a run that keeps crashing is marked failed.")
    poll_seconds: float = Field(0.5, gt=0, description="How often an idle SQLite worker looks for work.")
    max_page_size: int = Field(200, ge=1, description="Cap on `limit` for list endpoints.")
    max_points: int = Field(4000, ge=8, description="Cap on points per metric a request may ask for.")
    submit_token: str = Field("", description="If set, POST /api/runs needs `Authorization: Bearer <token>`.")
    max_body_bytes: int = Field(65_536, ge=1024, description="Largest request body the API reads; more is a 413.")
    max_run_cpu_seconds: float = Field(
        600.0, ge=0, description="Largest run a POST may start, as its phenomenon estimates it from the knobs, in "
        "seconds of one CPU thread; more is a 422 naming the knobs and what would fit. 0: no limit.")
    runs_per_minute: int = Field(
        60, ge=0, description="New runs one client (IP address) may start per minute; more is a 429 with Retry-After. "
        "A POST answered with an existing run never counts. 0: no limit.")
    max_queued_runs_per_client: int = Field(
        100, ge=0, description="Runs one client may have waiting in the queue at once; more is a 429. 0: no limit.")
    cors_origins: list[str] = Field(
        [], description='Origins whose pages may call the API from a browser (JSON list, e.g. ["https://x.org"]); '
        "empty: none (CORS closed).")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'phaselab.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
