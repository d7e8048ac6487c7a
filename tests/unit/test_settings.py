from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.store.settings import Settings


def test_default_database_is_a_sqlite_file_in_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PHASELAB_DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'phaselab.db').resolve()}"


def test_environment_with_prefix_picks_the_database(monkeypatch):
    monkeypatch.setenv("PHASELAB_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("PHASELAB_LEASE_SECONDS", "7.5")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+psycopg://u@h/db" and settings.lease_seconds == 7.5


def test_bad_setting_names_itself(monkeypatch):
    monkeypatch.setenv("PHASELAB_PORT", "99999")
    with pytest.raises(ValidationError, match="port"):
        Settings()


def test_settings_table_in_readme_lists_every_setting():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"PHASELAB_{name.upper()}" in readme, name
