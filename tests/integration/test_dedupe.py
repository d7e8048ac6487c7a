"""Thirty students opening one link start one run: 20 concurrent identical POSTs, a real server, both databases."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.databases import database
from tests.servers import running_server

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_twenty_concurrent_identical_posts_create_exactly_one_run(kind, tmp_path):
    body = {"phenomenon": "grokking", "config": {"p": 13, "steps": 40}, "seed": 11}
    with database(kind, tmp_path) as url, running_server(url, tmp_path / "server.log") as base:
        with ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(lambda _: httpx.post(f"{base}/api/runs", json=body, timeout=30), range(20)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 19 + [201]
        assert len({r.json()["id"] for r in responses}) == 1
        listing = httpx.get(f"{base}/api/runs").json()
        assert listing["count"] == 1
