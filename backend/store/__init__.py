"""The store: what the API and the workers both stand on.

Settings, the database (engine, migrations, models), the run state machine both dispatchers share,
the dispatchers' enqueue/cancel side, and reading curves back. It imports nothing from the API, the
UI or the workers, so either side can change without the other (see the import-linter contracts in
pyproject.toml).
"""
