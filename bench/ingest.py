"""Ingest benchmark: our Discourse webhook receiver beside a bare one, both under wrk.

    python bench/ingest.py [--duration 10] [--rounds 2] [--connections 16] [--threads 2]

What it does (docs/webhook-reliability.md §3.2 is the reference measurement):

* ours: a fresh SQLite database in a temp dir, `mentorship forum add --kind discourse`,
  then `mentorship serve --no-worker` (gunicorn, one sync worker per core);
* bare: bench/bare_receiver.py under `python -m gunicorn -k sync` with the same number of
  workers: signature check + one INSERT into its own SQLite file (WAL, synchronous=FULL);
* load: wrk with a Lua script that sends distinct pre-signed `post_created` events in a
  private message (so ours stores every one), built with wrk.format from a data file
  written here; no body is ever sent twice (the script fails if one would be);
* a warm-up per server, then rounds in alternating order (ours/bare, bare/ours, ...);
  before each run it waits (up to --quiet-wait s) for other processes to leave the CPUs
  alone, and it measures the CPU they took during the run (from /proc), since the machine
  may be shared;
* a table of events/s, p50/p99 latency and non-2xx per run, the ratio ours/bare and
  whether the targets hold (ours >= 0.8 x bare events/s, ours p99 < 50 ms), and the rows
  each database holds afterwards, checked against the responses that said "stored".

Everything listens on 127.0.0.1 only; the servers run in their own process groups and are
stopped on the way out. Exit status: 0 targets met, 1 a target missed, 3 the run itself
is not trustworthy (non-2xx responses, socket errors, a repeated body, a row count that
does not match, a server that would not start, other processes taking more than
--max-other-cpu cores during a measured run), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "webhooks" / "discourse" / "fixtures" / "post__post_created.json"
CHAT_FIXTURE = (
    ROOT / "webhooks" / "discourse" / "fixtures" / "chat_message__chat_message_created.json"
)
# --event: (X-Discourse-Event-Type, X-Discourse-Event) of the events sent.
EVENTS = {"post": ("post", "post_created"), "chat": ("chat_message", "chat_message_created")}
SHARED_EXAMPLE = ROOT.parent / "shared/forums/discourse/constructed_webhook_examples.json"
FORUM = "bench"
INSTANCE = "https://forum.example.com"
TARGET_RATIO = 0.8
TARGET_P99_MS = 50.0
EXIT_TARGET_MISSED, EXIT_BROKEN = 1, 3

# wrk's Lua side. Each thread takes every n-th line of the data file (event id, signature,
# body; tab-separated) and pre-builds full requests with wrk.format; request() hands them
# out in order and counts a wrap-around (which would resend a body: the run is invalid).
LUA = r"""
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  reqs, total, nxt = {}, 0, 0
  sent, wrapped, responses, non2xx, stored = 0, 0, 0, 0, 0
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id - 1 then
      local event_id, sig, body = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
      local headers = {
        ["Content-Type"] = "application/json",
        ["X-Discourse-Instance"] = "__INSTANCE__",
        ["X-Discourse-Event-Id"] = event_id,
        ["X-Discourse-Event-Type"] = "__TYPE__",
        ["X-Discourse-Event"] = "__EVENT__",
        ["X-Discourse-Event-Signature"] = sig,
      }
      total = total + 1
      reqs[total] = wrk.format("POST", wrk.path, headers, body)
    end
    i = i + 1
  end
end

function request()
  nxt = nxt + 1
  if nxt > total then
    nxt = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  return reqs[nxt]
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif body and body:find('"stored"', 1, true) then
    stored = stored + 1
  end
end

function done(summary, latency, requests)
  local t = {sent = 0, wrapped = 0, responses = 0, non2xx = 0, stored = 0, loaded = 0}
  for _, thread in ipairs(threads) do
    t.sent = t.sent + thread:get("sent")
    t.wrapped = t.wrapped + thread:get("wrapped")
    t.responses = t.responses + thread:get("responses")
    t.non2xx = t.non2xx + thread:get("non2xx")
    t.stored = t.stored + thread:get("stored")
    t.loaded = t.loaded + thread:get("total")
  end
  io.write(string.format(
    "BENCH loaded=%d sent=%d responses=%d non2xx=%d stored=%d wrapped=%d " ..
    "requests=%d duration_us=%d\n",
    t.loaded, t.sent, t.responses, t.non2xx, t.stored, t.wrapped,
    summary.requests, summary.duration))
end
"""


# -- the requests -------------------------------------------------------------------------


def pm_post_example() -> dict:
    """The `post_created` body of a reply in a private message (stored by our receiver)."""
    source = FIXTURE if FIXTURE.exists() else SHARED_EXAMPLE
    doc = json.loads(source.read_text(encoding="utf-8"))
    body = doc if source == FIXTURE else doc["post_created_pm_reply"]
    if body["post"].get("topic_archetype") != "private_message":
        raise SystemExit(f"{source}: not a private-message post; ours would drop it")
    return body


def chat_message_example() -> dict:
    """The `chat_message_created` body of a member's message in a direct-message channel."""
    body = json.loads(CHAT_FIXTURE.read_text(encoding="utf-8"))
    if body["chat_message"]["channel"].get("chatable_type") != "DirectMessage":
        raise SystemExit(f"{CHAT_FIXTURE}: not a direct-message channel; ours would drop it")
    return body


class RequestFactory:
    """Distinct signed events: every request of the whole benchmark has a new id."""

    def __init__(self, secret: str, first_id: int = 1_000_001, event: str = "post"):
        self.key = secret.encode()
        self.next_id = first_id
        self.kind, self.name = EVENTS[event]
        if event == "chat":  # a member's chat message: a bigger body, a nested id
            body = chat_message_example()
            body["chat_message"]["message"]["id"] = "__POST_ID__"
        else:
            body = pm_post_example()
            body["post"]["id"] = "__POST_ID__"
        # Compact and UTF-8 as Discourse (Ruby's to_json) sends it; no raw tab or newline.
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        self.head, self.tail = (part.encode() for part in text.split('"__POST_ID__"'))

    def one(self) -> tuple[int, bytes, str]:
        """(event id, body, signature header) of the next event."""
        n = self.next_id
        self.next_id += 1
        body = self.head + str(n).encode() + self.tail
        return n, body, "sha256=" + hmac.new(self.key, body, hashlib.sha256).hexdigest()

    def write(self, path: Path, count: int) -> None:
        """`count` events, one per line: event id, signature, body (tab-separated)."""
        with path.open("wb") as fh:
            for _ in range(count):
                n, body, sig = self.one()
                fh.write(b"%d\t%s\t%s\n" % (n, sig.encode(), body))


# -- the servers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mentorship_command() -> list[str]:
    script = Path(sys.executable).with_name("mentorship")
    if script.exists():
        return [str(script)]
    found = shutil.which("mentorship")
    return [found] if found else [sys.executable, "-m", "plugin.cli"]


@dataclass
class Server:
    name: str
    url: str  # the webhook URL
    health: str
    log: Path
    db: Path
    count_sql: str
    proc: subprocess.Popen | None = None
    runs: list[Run] = field(default_factory=list)
    warmups: list[Run] = field(default_factory=list)

    def start(self, argv: list[str], env: dict, cwd: Path) -> None:
        with self.log.open("wb") as log:
            # A session of its own: the whole gunicorn process group is stopped at the end.
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.health, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise Broken(f"{self.name}: server not healthy at {self.health}\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join("    " + line for line in text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def rows(self) -> int:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(self.count_sql).fetchone()[0]
        finally:
            conn.close()


class Broken(Exception):
    """The run cannot be trusted (or not even started)."""


def start_ours(tmp: Path, secret: str, workers: int, database_url: str | None = None) -> Server:
    """Our receiver on a fresh SQLite file in `tmp`, or on `database_url` (bench/scale.py)."""
    db = tmp / "ours.db"
    # The forum never answers (nothing listens on port 9): only its webhooks are measured. Its
    # loopback http:// URL must be allowed, as the forum URL rule asks.
    env = dict(
        os.environ,
        MENTORSHIP_DATABASE_URL=database_url or f"sqlite:///{db}",
        MENTORSHIP_ALLOWED_INTERNAL_HOSTS="127.0.0.1",
    )
    if database_url is None:
        env.pop("MENTORSHIP_SECRET_KEY", None)  # kept beside the temp database instead
    add = mentorship_command() + [
        "forum",
        "add",
        "--kind",
        "discourse",
        "--name",
        FORUM,
        "--url",
        "http://127.0.0.1:9",
        "--api-key",
        "k",
        "--api-username",
        "mentor_bot",
        "--webhook-secret",
        secret,
        "--no-check",  # nothing answers on port 9: skip asking the forum
    ]
    done = subprocess.run(add, cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise Broken(f"ours: `mentorship forum add` failed:\n{done.stdout}{done.stderr}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(
        "ours",
        f"{base}/webhooks/discourse/{FORUM}",
        f"{base}/healthz",
        tmp / "ours.log",
        db,
        "SELECT count(*) FROM inbox_events",
    )
    server.start(
        mentorship_command()
        + [
            "serve",
            "--no-worker",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env,
        tmp,
    )
    return server


def start_bare(tmp: Path, secret: str, workers: int) -> Server:
    db = tmp / "bare.db"
    sys.path.insert(0, str(ROOT))
    from bench.bare_receiver import init_db

    init_db(str(db))
    env = dict(os.environ, BARE_RECEIVER_DB=str(db), BARE_RECEIVER_SECRET=secret)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(
        "bare",
        f"{base}/webhooks/discourse/{FORUM}",
        f"{base}/healthz",
        tmp / "bare.log",
        db,
        "SELECT count(*) FROM events",
    )
    server.start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--chdir",
            str(ROOT),
            "bench.bare_receiver:app",
        ],
        env,
        tmp,
    )
    return server


def smoke(server: Server, factory: RequestFactory) -> None:
    """One signed event by hand: a clear error now beats 100,000 rejected requests later."""
    n, body, sig = factory.one()
    req = urllib.request.Request(
        server.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Discourse-Instance": INSTANCE,
            "X-Discourse-Event-Id": str(n),
            "X-Discourse-Event-Type": factory.kind,
            "X-Discourse-Event": factory.name,
            "X-Discourse-Event-Signature": sig,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, answer = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read()
    if status != 200 or b'"stored"' not in answer:
        raise Broken(f"{server.name}: a signed event got {status} {answer[:200]!r}")


# -- other load on the machine --------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _system_cpu() -> float:
    """CPU seconds spent in user, nice and system mode on all cores since boot."""
    with open("/proc/stat", encoding="ascii") as fh:
        user, nice, system = (int(x) for x in fh.readline().split()[1:4])
    return (user + nice + system) / CLK_TCK


def _group_cpu(pgids: set[int]) -> dict[int, float]:
    """CPU seconds used so far by the live processes of each of these process groups."""
    total = dict.fromkeys(pgids, 0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2 :].split()  # fields from 3 (state) on
        pgrp = int(fields[2])  # 5: pgrp; 14, 15: utime, stime
        if pgrp in total:
            total[pgrp] += int(fields[11]) + int(fields[12])
    return {pgid: ticks / CLK_TCK for pgid, ticks in total.items()}


def _own_cpu() -> float:
    """CPU seconds of this script and its waited-for children (wrk, the CLI)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class CpuMeter:
    """CPU used between start() and stop(): by each server, and by everything else."""

    def __init__(self, servers: list[Server]):
        self.pgids = {s.proc.pid for s in servers if s.proc is not None}

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.all0, self.groups0, self.own0 = _system_cpu(), _group_cpu(self.pgids), _own_cpu()

    def stop(self) -> tuple[float, dict[int, float]]:
        """(cores used by other processes on average, CPU seconds of each server's group).

        "Other" includes kernel threads (such as the file system journal) and interrupts
        charged to no process; it is near zero on an idle machine.
        """
        all1, groups1, own1 = _system_cpu(), _group_cpu(self.pgids), _own_cpu()
        elapsed = time.monotonic() - self.t0
        used = {pgid: groups1[pgid] - self.groups0[pgid] for pgid in self.pgids}
        other = (all1 - self.all0) - sum(used.values()) - (own1 - self.own0)
        return max(0.0, other) / elapsed, used

    def wait_quiet(self, limit: float, max_wait: float) -> float:
        """Wait (up to max_wait s) until others use at most `limit` cores; their last use."""
        deadline = time.monotonic() + max_wait
        said = False
        while True:
            self.start()
            time.sleep(1.0)
            other, _ = self.stop()
            if other <= limit or time.monotonic() >= deadline:
                return other
            if not said:
                print(
                    f"  other processes use {other:.2f} cores; waiting up to "
                    f"{max_wait:.0f} s for the machine to go quiet ...",
                    flush=True,
                )
                said = True


# -- wrk ------------------------------------------------------------------------------------


@dataclass
class Run:
    server: str
    label: str
    rps: float  # wrk's Requests/sec
    p50_ms: float
    p99_ms: float
    requests: int
    duration_s: float
    sent: int
    stored: int
    non2xx: int  # counted by the script's response(): any status outside 200-299
    wrk_non2xx: int  # wrk's own "Non-2xx or 3xx responses" line: status >= 400 only
    socket_errors: int
    wrapped: int
    other_cores: float = 0.0  # CPU used by processes outside the benchmark meanwhile
    server_cpu_ms: float = 0.0  # CPU the server's processes used per answered request

    @property
    def failed(self) -> int:
        """Responses that were not 2xx."""
        return max(self.non2xx, self.wrk_non2xx)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def parse_wrk(server: str, label: str, out: str) -> Run:
    def grab(pattern: str) -> re.Match:
        m = re.search(pattern, out, re.MULTILINE)
        if m is None:
            raise Broken(f"{server} {label}: no {pattern!r} in wrk's output:\n{out}")
        return m

    rps = float(grab(r"^Requests/sec:\s+([\d.]+)").group(1))
    p50 = grab(r"^\s+50%\s+([\d.]+)(us|ms|s|m|h)\s*$")
    p99 = grab(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$")
    mine = grab(r"^BENCH (.*)$").group(1)
    fields = {k: int(v) for k, v in (kv.split("=") for kv in mine.split())}
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    wrk_non2xx = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(g) for g in m.groups()) if m else 0
    return Run(
        server,
        label,
        rps,
        _ms(*p50.groups()),
        _ms(*p99.groups()),
        fields["requests"],
        fields["duration_us"] / 1e6,
        fields["sent"],
        fields["stored"],
        fields["non2xx"],
        wrk_non2xx,
        socket_errors,
        fields["wrapped"],
    )


def run_wrk(
    args,
    server: Server,
    load: CpuMeter,
    factory: RequestFactory,
    tmp: Path,
    lua: Path,
    seconds: int,
    label: str,
) -> Run:
    # More events than the fastest conceivable rate needs, so none is ever sent twice.
    count = max(args.requests, seconds * 6000)
    data = tmp / "requests.tsv"
    factory.write(data, count)
    argv = [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(lua),
        server.url,
        "--",
        str(data),
        str(args.threads),
    ]
    load.wait_quiet(args.max_other_cpu, args.quiet_wait)
    load.start()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
        other, used = load.stop()
    finally:
        data.unlink(missing_ok=True)
    if done.returncode != 0:
        raise Broken(
            f"{server.name} {label}: wrk exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    run = parse_wrk(server.name, label, done.stdout)
    run.other_cores = other
    run.server_cpu_ms = 1000 * used[server.proc.pid] / max(1, run.requests)
    if args.verbose:
        print(done.stdout)
    return run


# -- the report -----------------------------------------------------------------------------


def total_rate(runs: list[Run]) -> float:
    return sum(r.requests for r in runs) / sum(r.duration_s for r in runs)


def row(name: str, label: str, rate: float, p50: float, p99: float, non2xx: int, cpu: float):
    return f"{name:<5} {label:<8} {rate:>9,.0f} {p50:>8.2f} {p99:>8.2f} {non2xx:>7} {cpu:>10.3f}"


def cpu_per_event(runs: list[Run]) -> float:
    return sum(r.server_cpu_ms * r.requests for r in runs) / max(1, sum(r.requests for r in runs))


def report(args, ours: Server, bare: Server) -> int:
    print()
    head = (
        f"{'':<5} {'run':<8} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>7} "
        f"{'CPU ms/ev':>10}"
    )
    print(head + "  other CPU (cores)")
    rounds = [r for pair in zip(ours.runs, bare.runs, strict=True) for r in pair]
    for r in ours.warmups + bare.warmups + rounds:
        note = f"  {r.other_cores:>4.2f}"
        if r.other_cores > args.max_other_cpu:
            note += " DISTURBED"
        if r.socket_errors:
            note += f"  socket errors: {r.socket_errors}"
        line = row(r.server, r.label, r.rps, r.p50_ms, r.p99_ms, r.failed, r.server_cpu_ms)
        print(line + note)
    print("-" * (len(head) + 19))
    summary = {}
    for s in (ours, bare):
        rate = total_rate(s.runs)
        p50 = statistics.median(r.p50_ms for r in s.runs)
        p99 = max(r.p99_ms for r in s.runs)
        non2xx = sum(r.failed for r in s.runs)
        cpu = cpu_per_event(s.runs)
        summary[s.name] = (rate, p99, cpu)
        print(row(s.name, "all", rate, p50, p99, non2xx, cpu) + "  (p50: median round, p99: worst)")
    print(
        "CPU ms/ev: CPU time of the server's processes (gunicorn and its workers) per answered "
        "request."
    )
    ratio = summary["ours"][0] / summary["bare"][0]
    per_round = ", ".join(f"{o.rps / b.rps:.2f}" for o, b in zip(ours.runs, bare.runs, strict=True))
    print()
    print(f"ratio ours/bare events/s: {ratio:.2f} (per round: {per_round})")
    cpu_ratio = summary["ours"][2] / summary["bare"][2]
    print(
        f"server CPU per event, ours/bare: {cpu_ratio:.2f} (steadier than events/s on a shared "
        "machine; under full load events/s goes roughly with its inverse)"
    )
    ratio_ok = ratio >= TARGET_RATIO
    p99_ok = summary["ours"][1] < TARGET_P99_MS
    print(f"target ours >= {TARGET_RATIO} x bare events/s: {'MET' if ratio_ok else 'MISSED'}")
    print(
        f"target ours p99 < {TARGET_P99_MS:.0f} ms: {'MET' if p99_ok else 'MISSED'} "
        f"(worst round {summary['ours'][1]:.1f} ms)"
    )

    broken = []
    disturbed = [r for r in ours.runs + bare.runs if r.other_cores > args.max_other_cpu]
    if disturbed:
        broken.append(
            f"{len(disturbed)} measured run(s) shared the CPUs with other processes "
            f"(> {args.max_other_cpu} cores): the comparison is skewed; run again on a "
            "quiet machine"
        )
    for s in (ours, bare):
        runs = s.warmups + s.runs
        stored = sum(r.stored for r in runs) + 1  # + the smoke request
        sent = sum(r.sent for r in runs) + 1
        rows = s.rows()
        # wrk stops with up to one request per connection in flight: those are stored by
        # the server but not counted by wrk, hence a range rather than one number.
        verdict = "ok" if stored <= rows <= sent else "MISMATCH"
        print(
            f"{s.name}: {rows:,} rows in {s.db.name} after the runs; responses that said "
            f'"stored": {stored:,}; requests sent: {sent:,} -> {verdict}'
        )
        if verdict != "ok":
            broken.append(f"{s.name}: {rows} rows, expected {stored}..{sent}")
        failed = sum(r.failed for r in runs)
        errors = sum(r.socket_errors for r in runs)
        bad = failed + errors
        if failed:
            broken.append(f"{s.name}: {failed} non-2xx responses")
        if errors:
            broken.append(f"{s.name}: {errors} socket errors (connect/read/write/timeout)")
        if any(r.wrapped for r in runs):
            broken.append(f"{s.name}: wrk ran out of distinct events (raise --requests)")
        if any(r.requests != r.stored for r in runs) and not bad:
            broken.append(f'{s.name}: some 2xx responses did not say "stored"')
    if broken:
        print("\nRUN NOT TRUSTWORTHY:\n  " + "\n  ".join(broken))
        return EXIT_BROKEN
    return 0 if ratio_ok and p99_ok else EXIT_TARGET_MISSED


# -- main -----------------------------------------------------------------------------------


def bounded(lo: int, hi: int):
    def parse(text: str) -> int:
        value = int(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=bounded(1, 300), default=10, help="seconds per run")
    p.add_argument("--rounds", type=bounded(1, 10), default=2, help="runs per server")
    p.add_argument("--warmup", type=bounded(0, 30), default=2, help="warm-up seconds")
    p.add_argument("--connections", type=bounded(1, 512), default=16)
    p.add_argument("--threads", type=bounded(1, 16), default=2, help="wrk threads")
    p.add_argument(
        "--workers",
        type=bounded(1, 64),
        default=os.cpu_count() or 1,
        help="gunicorn sync workers for both servers (default: cores)",
    )
    p.add_argument(
        "--requests",
        type=bounded(1000, 2_000_000),
        default=50_000,
        help="distinct events prepared per run (at least 6,000 per second)",
    )
    p.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (databases, logs)")
    p.add_argument(
        "--max-other-cpu",
        type=float,
        default=0.25,
        help="cores other processes may use during a run before it counts as disturbed",
    )
    p.add_argument(
        "--quiet-wait",
        type=bounded(0, 300),
        default=30,
        help="seconds to wait before each run for other processes to quieten",
    )
    p.add_argument("--verbose", action="store_true", help="print wrk's own output")
    p.add_argument(
        "--event",
        choices=sorted(EVENTS),
        default="post",
        help="post: replies in a private message; chat: messages in a chat channel",
    )
    args = p.parse_args(argv)
    if args.connections < args.threads:
        p.error("--connections must be at least --threads")
    if not Path(args.wrk).exists():
        p.error(f"wrk not found at {args.wrk} (apt-get install wrk)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="mentorship-bench-"))
    secret = secrets.token_hex(24)
    lua = tmp / "discourse.lua"
    factory = RequestFactory(secret, event=args.event)
    script = LUA.replace("__INSTANCE__", INSTANCE).replace("__TYPE__", factory.kind)
    lua.write_text(script.replace("__EVENT__", factory.name), encoding="utf-8")
    servers: list[Server] = []
    total = 2 * (args.warmup + args.rounds * args.duration)
    print(
        f"{os.cpu_count()} CPUs; {factory.name} events; wrk -t{args.threads} "
        f"-c{args.connections} and both "
        f"servers (gunicorn sync, {args.workers} workers each) share them, so the figures "
        f"are conservative. ~{total} s of load; temp dir {tmp}"
    )
    try:
        ours = start_ours(tmp, secret, args.workers)
        servers.append(ours)
        bare = start_bare(tmp, secret, args.workers)
        servers.append(bare)
        for s in servers:
            s.wait_healthy()
            smoke(s, factory)
        load = CpuMeter(servers)
        if args.warmup:
            for s in servers:
                print(f"warm-up: {s.name} ...", flush=True)
                run = run_wrk(args, s, load, factory, tmp, lua, args.warmup, "warm-up")
                s.warmups.append(run)
        for n in range(args.rounds):
            order = servers if n % 2 == 0 else servers[::-1]
            for s in order:
                print(f"round {n + 1}/{args.rounds}: {s.name} ...", flush=True)
                run = run_wrk(args, s, load, factory, tmp, lua, args.duration, f"round {n + 1}")
                s.runs.append(run)
        return report(args, ours, bare)
    except Broken as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    finally:
        for s in servers:
            s.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
