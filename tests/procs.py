"""Helpers for tests that run the service as real processes (`serve`, `worker`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def env_for(config, **extra) -> dict[str, str]:
    """The environment a `mentorship` process needs to use this test's database."""
    return {
        **os.environ,
        "MENTORSHIP_DATABASE_URL": config.database_url,
        "MENTORSHIP_SECRET_KEY": config.secret_key,
        "MENTORSHIP_BASE_URL": config.base_url,
        "MENTORSHIP_ALLOWED_INTERNAL_HOSTS": ",".join(config.allowed_internal_hosts),
        **extra,
    }


def wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    """Poll `predicate` until it holds or `seconds` pass; whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(base: str) -> bool:
    """`GET /healthz` answers 200."""
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def listening(port: int) -> bool:
    """Something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def mentorship(config, *argv: str, log: Path | None = None, **extra) -> Iterator[subprocess.Popen]:
    """`mentorship ARGV` in its own process group, stopped (group and all) on exit."""
    sink = open(log or os.devnull, "w")  # noqa: SIM115 - closed below, after the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "plugin.cli", *argv],
        env=env_for(config, **extra),
        stdout=subprocess.DEVNULL,
        stderr=sink,
        start_new_session=True,  # gunicorn's workers and `serve`'s worker go with it
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        sink.close()


@contextmanager
def serving(config, *argv: str, log: Path | None = None, **extra) -> Iterator[str]:
    """`mentorship serve ARGV` on a free port, once it listens; yields its base URL.

    It waits for the socket, not for /healthz: a request sent then waits in the listen
    queue, and the first requests reach every HTTP worker at once (as in production).
    """
    port = free_port()
    with mentorship(config, "serve", "--port", str(port), *argv, log=log, **extra) as proc:
        if not wait_for(lambda: listening(port) or proc.poll() is not None, 60):
            raise AssertionError("serve did not listen within 60 s")
        assert proc.poll() is None, f"serve exited with {proc.returncode}"
        yield f"http://127.0.0.1:{port}"
