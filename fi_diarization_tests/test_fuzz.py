"""Fuzzing the probe and intake (fuzz_intake.py) in a child process with a hard time bound."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fi_diarization_tests.conftest import PROJECT_ROOT

# 1000 inputs take about 15 s here (2000 took 30 s on a busy machine); the bound is what
# "hangs" means, not a speed target.
EXAMPLES = 1000
HANG_S = 240


def test_mutated_files_are_accepted_or_rejected_never_raise_or_hang(tmp_path):
    env = {**os.environ, "FI_FUZZ_HOME": str(tmp_path), "FI_FUZZ_EXAMPLES": str(EXAMPLES)}
    fuzz = Path(__file__).with_name("fuzz_intake.py")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics", str(fuzz)],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=HANG_S,
        )
    except subprocess.TimeoutExpired:
        stuck = [p.name for p in (tmp_path / "inbox").iterdir()]
        pytest.fail(f"intake hung for {HANG_S} s on {stuck} (kept in {tmp_path / 'inbox'})")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert f"{EXAMPLES} passing, 0 failing" in proc.stdout
