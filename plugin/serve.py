"""`mentorship serve`: gunicorn (one sync worker per core) plus the background worker."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from plugin import metrics
from plugin.logs import gunicorn_logconfig
from plugin.storage.db import dispose_engines


class _Server(BaseApplication):
    """Gunicorn with our options and our application factory, no config file."""

    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Hand the options to gunicorn's settings."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """The WSGI app each gunicorn worker serves."""
        from plugin.web.app import create_app

        return create_app()


def _die_with_parent() -> None:
    # Linux: the worker gets SIGTERM if `serve` dies, so no orphan keeps running.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def start_worker() -> subprocess.Popen:
    """The background worker as a child process of `serve`."""
    return subprocess.Popen(
        [sys.executable, "-m", "plugin.cli", "worker"], preexec_fn=_die_with_parent
    )


def _child_exit(server: object, worker: Any) -> None:
    """gunicorn's child_exit hook (in the master): a dead worker's metric files are tidied."""
    metrics.process_exited(worker.pid)


def gunicorn_options(
    host: str, port: int, *, workers: int | None = None, log_format: str = "text"
) -> dict[str, Any]:
    """The settings `serve` gives gunicorn."""
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers or os.cpu_count() or 1,
        # Sync workers, one per core: the tightest latency tail for SQLite-backed writes
        # (docs/webhook-reliability.md §3.2); webhook handlers never wait on the network.
        "worker_class": "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "mentorship",
        # gunicorn 25.1+ opens a control socket at one path per user ($XDG_RUNTIME_DIR or
        # ~/.gunicorn/gunicorn.ctl): every `serve` of this user on the machine would share
        # it. The service does not use gunicornc, so none is opened.
        "control_socket_disable": True,
        "child_exit": _child_exit,
    }
    logconfig = gunicorn_logconfig(log_format)
    if logconfig is not None:
        options["logconfig_dict"] = logconfig  # gunicorn's own lines as JSON too
    return options


def serve(
    host: str,
    port: int,
    *,
    with_worker: bool,
    workers: int | None = None,
    log_format: str = "text",
) -> None:
    """Serve HTTP until interrupted, with the worker alongside unless told not to."""
    options = gunicorn_options(host, port, workers=workers, log_format=log_format)
    # The master never queries again: hand back what upgrading the schema left pooled, so
    # it holds no idle server connection for its whole life (children start empty anyway).
    dispose_engines()
    # Before gunicorn forks and the worker starts: each of them writes its counts there.
    created = metrics.prepare_multiprocess_dir()
    worker = start_worker() if with_worker else None
    try:
        _Server(options).run()
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        metrics.remove_multiprocess_dir(created)  # every process that wrote there is gone
