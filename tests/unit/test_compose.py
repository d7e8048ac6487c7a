"""docker-compose.yml, checked statically (no Docker engine here): services, images, commands, env, GPUs."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_services_are_postgres_api_and_two_kinds_of_worker():
    assert set(SERVICES) == {"db", "api", "worker-gpu", "worker-cpu"}
    assert SERVICES["db"]["image"].startswith("postgres:")


def test_every_phaselab_service_points_at_the_compose_postgres():
    user = SERVICES["db"]["environment"]["POSTGRES_USER"]
    name = SERVICES["db"]["environment"]["POSTGRES_DB"]
    for service in ("api", "worker-gpu", "worker-cpu"):
        url = SERVICES[service]["environment"]["PHASELAB_DATABASE_URL"]
        assert url.startswith(f"postgresql+psycopg://{user}:") and url.endswith(f"@db:5432/{name}"), service


def test_api_image_has_no_torch_and_serves_without_local_workers():
    dockerfile = ROOT / SERVICES["api"]["build"]["dockerfile"]
    assert "torch" not in dockerfile.read_text().replace("# The API + UI image: no torch", "")
    command = " ".join(SERVICES["api"]["command"])
    assert "phaselab migrate" in command and "phaselab serve" in command and "--workers 0" in command
    assert "8050:8050" in SERVICES["api"]["ports"]
    assert SERVICES["api"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_gpu_worker_reserves_an_nvidia_device_and_takes_the_gpu_queue():
    gpu = SERVICES["worker-gpu"]
    assert gpu["command"][:2] == ["phaselab", "worker"]
    assert gpu["command"][gpu["command"].index("--queue") + 1] == "gpu"
    assert gpu["command"][gpu["command"].index("--device") + 1] == "cuda"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"] and device["count"] >= 1


def test_cpu_worker_takes_the_cpu_queue_with_a_cpu_torch_build():
    cpu = SERVICES["worker-cpu"]
    assert cpu["command"][cpu["command"].index("--queue") + 1] == "cpu"
    assert "whl/cpu" in cpu["build"]["args"]["TORCH_INDEX"]
    assert "deploy" not in cpu or "resources" not in cpu["deploy"]


def test_workers_start_after_the_api_has_migrated_the_database():
    for service in ("worker-gpu", "worker-cpu"):
        assert SERVICES[service]["depends_on"]["api"]["condition"] == "service_healthy"
    assert "/api/health" in " ".join(SERVICES["api"]["healthcheck"]["test"])


def test_dockerfiles_copy_what_the_commands_need():
    for service in ("api", "worker-gpu", "worker-cpu"):
        text = (ROOT / SERVICES[service]["build"]["dockerfile"]).read_text()
        for folder in ("backend", "frontend", "workers"):
            assert f"COPY {folder} ./{folder}" in text, (service, folder)
