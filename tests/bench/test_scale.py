"""bench/scale.py --quick runs end to end and prints every figure with its baseline."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_scale_bench_prints_every_row_with_its_baseline():
    argv = [sys.executable, str(ROOT / "bench" / "scale.py"), "--quick"]
    wrk = shutil.which("wrk") is not None
    if not wrk:  # the ingest rows need wrk; the rest must run anyway
        argv.append("--no-ingest")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("sqlite ")]
    expected = ["scheduler pass", "worker --once peak RSS", "drain", "claim 50"]
    expected += ["ingest"] if wrk else []
    for what in expected:
        rows = [line for line in table if what in line]
        assert len(rows) == 1, done.stdout
        assert "ratio" in rows[0] or "goal" in rows[0]
