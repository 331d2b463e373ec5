"""deploy/ renders and agrees with itself and with Dagster's instance schema (no engine needed)."""

import os
import shutil
import subprocess
import sys

import pytest

from fi_diarization_tests.conftest import PROJECT_ROOT


@pytest.mark.skipif(
    not shutil.which("docker-compose"),
    reason="needs Debian's docker-compose (apt-get install docker-compose) to render the compose files",
)
def test_deploy_validates():
    proc = subprocess.run(
        ["bash", "deploy/validate.sh"],
        cwd=PROJECT_ROOT, env={**os.environ, "PYTHON": sys.executable}, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "deploy check: all passed" in proc.stdout
    assert "FAIL" not in proc.stdout
    assert "SKIPPED compose" not in proc.stdout  # both variants were rendered and checked
