"""Dockerfile and compose.yaml, checked by reading them: no container engine runs here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SETTING = re.compile(r"MENTORSHIP_[A-Z_]+")


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's final stage as (INSTRUCTION, arguments), continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    parsed = [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, (word, _) in enumerate(parsed) if word.upper() == "FROM")
    return [(word.upper(), rest) for word, rest in parsed[last_from:]]


def one(name: str) -> str:
    """The arguments of the final stage's last instruction of this name."""
    found = [rest for word, rest in instructions() if word == name]
    assert found, f"no {name} in the Dockerfile's final stage"
    return found[-1]


def compose() -> dict:
    """compose.yaml as YAML (its anchors and merge keys resolved)."""
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def settings_the_service_reads() -> set[str]:
    """Every MENTORSHIP_* name in the service's own source."""
    found: set[str] = set()
    for top in ("plugin", "webhooks"):
        for path in (ROOT / top).rglob("*.py"):
            found |= set(SETTING.findall(path.read_text(encoding="utf-8")))
    return found


def test_image_runs_serve_on_every_interface():
    assert json.loads(one("CMD")) == ["mentorship", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert one("EXPOSE") == "8000"


def test_image_is_a_slim_python_running_as_an_unprivileged_user():
    assert re.fullmatch(r"python:[\d.]+-slim", one("FROM").split()[0])
    assert one("USER") not in {"root", "0", "0:0"}
    users = [i for i, (word, _) in enumerate(instructions()) if word == "USER"]
    assert users and users[-1] > max(i for i, (w, _) in enumerate(instructions()) if w == "RUN")


def test_image_installs_the_wheel():
    assert any("pip install" in rest and ".whl" in rest for word, rest in instructions())


def test_image_healthcheck_asks_healthz():
    check = one("HEALTHCHECK")
    assert "CMD" in check and "127.0.0.1:8000/healthz" in check


def test_image_environment_names_only_settings_the_service_reads():
    env = " ".join(rest for word, rest in instructions() if word == "ENV")
    assert set(SETTING.findall(env)) <= settings_the_service_reads()


def test_readme_shows_the_image_s_command_and_port():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert " ".join(json.loads(one("CMD"))) in readme
    assert "8000:8000" in readme
    assert "no container engine" in readme.lower()


def test_compose_has_postgres_web_and_two_workers():
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    web = services["web"]["command"]
    assert web[:2] == ["mentorship", "serve"] and "0.0.0.0" in web and "--no-worker" in web
    workers = [s for s in services.values() if s.get("command", [])[:2] == ["mentorship", "worker"]]
    assert sum(s.get("deploy", {}).get("replicas", 1) for s in workers) == 2


def test_compose_sets_only_settings_the_service_reads():
    services = compose()["services"]
    for name in ("web", "worker"):
        named = {key for key in services[name]["environment"] if key.startswith("MENTORSHIP_")}
        assert named <= settings_the_service_reads(), name
        assert {"MENTORSHIP_DATABASE_URL", "MENTORSHIP_SECRET_KEY"} <= named


def test_compose_points_the_service_at_its_postgres():
    services = compose()["services"]
    url = services["web"]["environment"]["MENTORSHIP_DATABASE_URL"]
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    assert "postgres" in services["web"]["depends_on"]


def test_compose_gives_web_and_workers_one_metrics_directory():
    services = compose()["services"]
    dirs = {services[n]["environment"]["PROMETHEUS_MULTIPROC_DIR"] for n in ("web", "worker")}
    assert len(dirs) == 1
    (path,) = dirs
    for name in ("web", "worker"):
        assert any(v.endswith(":" + path) for v in services[name]["volumes"]), name
    # Made in the image, owned by its user, so the volume mounted there is writable.
    assert any(path in rest and "-o mentorship" in rest for w, rest in instructions() if w == "RUN")
