"""Shared pytest fixtures."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEST_MODEL = "bundled:tiny.en"


def truth(name: str) -> dict:
    """The ground truth written beside a fixture WAV."""
    return json.loads((FIXTURES / name).with_suffix(".truth.json").read_text())


def project_env(root: Path) -> dict[str, str]:
    """Environment for an isolated data root and Dagster instance under `root`."""
    home, dagster_home = root / "data", root / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    return {
        "FI_DIARIZATION_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "WHISPER_MODEL": TEST_MODEL,
        # Nothing listens here: role labelling fails fast unless a test starts a server.
        "OLLAMA_HOST": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh data root and Dagster instance for one test; returns the Settings."""
    from fi_diarization.settings import get_settings

    for key, value in project_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    settings = get_settings()
    settings.ensure_dirs()
    return settings


# --- Ollama: a real HTTP server on 127.0.0.1 speaking the Ollama API -------------------
@pytest.fixture
def ollama_server(monkeypatch):
    """A started FakeOllama; set `answer`, `delay_s`, `malformed`; read `requests`."""
    from fi_diarization_tests.ollama_server import FakeOllama

    # A proxy from the environment must not intercept 127.0.0.1.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with FakeOllama() as server:
        yield server


# --- end Ollama ---------------------------------------------------------------------------
