"""The API and the UI start without torch: their container has none (DESIGN.md)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys, tempfile
from backend.store.settings import Settings
from backend.app import create_app
app = create_app(Settings(data_dir=tempfile.mkdtemp()))
from backend import catalogue
from workers.phenomena import load_all
assert load_all(), "no phenomena found"
for name in catalogue.names():
    catalogue.code_version(name)
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print("TORCH" if loaded else "NO-TORCH", loaded[:3])
"""


def test_backend_and_frontend_never_import_torch():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("NO-TORCH"), out.stdout
