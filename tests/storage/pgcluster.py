"""A throwaway PostgreSQL cluster a test owns: initdb, then pg_ctl start/stop on a free port.

The machine's own server is never touched. PostgreSQL refuses to run as root, so as root
(CI) the cluster runs as the `postgres` system user in a temporary directory it owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.procs import free_port


class Unavailable(Exception):
    """A throwaway cluster cannot be made here (the reason says why)."""


def _bindir() -> Path:
    """The newest /usr/lib/postgresql/*/bin that has initdb and pg_ctl."""
    found = [
        Path(d)
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(Path(d) / "initdb", os.X_OK) and os.access(Path(d) / "pg_ctl", os.X_OK)
    ]
    if not found:
        raise Unavailable("no initdb/pg_ctl under /usr/lib/postgresql/*/bin")
    return max(found, key=lambda d: [int(p) for p in d.parent.name.split(".") if p.isdigit()])


def _run_as() -> tuple[list[str], pwd.struct_passwd | None]:
    """The command prefix that runs PostgreSQL's tools as a user they accept, and that user."""
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable("running as root and there is no `postgres` system user") from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise Unavailable("running as root and `runuser` is missing")
    return [runuser, "-u", "postgres", "--"], user


class Cluster:
    """One PostgreSQL cluster in a temporary directory, on 127.0.0.1 only, trust auth."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.prefix, user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="mentorship-pg-"))
        if user is not None:
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._tool("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N")

    def _tool(self, name: str, *args: str) -> None:
        cmd = [*self.prefix, str(self.bindir / name), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed ({done.returncode}): {done.stderr[-2000:]}")

    def start(self) -> None:
        """Start, and return once it accepts connections."""
        # fsync off: these tests restart the server, never the machine.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
            f" -c unix_socket_directories={self.root}"
        )
        log = str(self.root / "server.log")
        self._tool("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop; `fast` ends every session at once, as a restart for maintenance does."""
        self._tool("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def log(self) -> str:
        """The server's log, for a failing test's message."""
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def destroy(self) -> None:
        """Stop it if it runs, and delete its files."""
        try:
            self.stop("immediate")
        except RuntimeError:
            pass  # it was not running
        shutil.rmtree(self.root, ignore_errors=True)
