"""Shared pytest fixtures."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
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


@contextlib.contextmanager
def running_daemon(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`dagster-daemon run -w workspace.yaml` as users start it, its output in `log`; stopped on exit.

    The instance is opened once first: two processes creating a brand-new SQLite instance at
    the same moment race on its tables, and a daemon that loses that race processes nothing.
    """
    import dagster as dg

    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]):
        pass
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
            cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield daemon
    finally:
        os.killpg(daemon.pid, signal.SIGINT)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()


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


def questions_answer(request: dict) -> dict:
    """A stand-in for the LLM's judgement: whoever asks the most questions is the doctor."""
    item = request["format"]["properties"]["speakers"]["items"]["properties"]
    speakers, roles = item["speaker"]["enum"], item["role"]["enum"]
    document = json.loads(request["messages"][-1]["content"].removeprefix("<transcript>").removesuffix("</transcript>"))
    samples = {s["speaker"]: s["said"] for s in document["speakers"]}
    doctor = max(speakers, key=lambda s: samples.get(s, "").count("?"))
    return {
        "speakers": [{"speaker": s, "role": roles[0] if s == doctor else roles[1]} for s in speakers],
        "speaker_count": len(speakers),
    }


@dataclass
class Materialized:
    """One whole pipeline run on a fixture, shared by the tests that read its results."""

    env: dict[str, str]
    settings: object
    audio_id: str
    outcome: object
    ollama_requests: list


@pytest.fixture(scope="session")
def consult_run(tmp_path_factory) -> Materialized:
    """consult_2spk.wav through every asset with tiny.en and an Ollama-API server."""
    from fi_diarization.audio.intake import accept
    from fi_diarization.options import RunOptions
    from fi_diarization.runner import run_partition
    from fi_diarization.settings import get_settings
    from fi_diarization.status import open_instance
    from fi_diarization_tests.ollama_server import FakeOllama

    env = project_env(tmp_path_factory.mktemp("consult"))
    with pytest.MonkeyPatch.context() as mp, FakeOllama() as server:
        server.answer = questions_answer
        env["OLLAMA_HOST"] = server.url
        for key, value in env.items():
            mp.setenv(key, value)
        settings = get_settings()
        accepted = accept(settings, FIXTURES / "consult_2spk.wav", move=False)
        outcome = run_partition(
            open_instance(settings), accepted.audio_id, RunOptions(model=TEST_MODEL), source="test"
        )
        return Materialized(env, settings, accepted.audio_id, outcome, list(server.requests))


def use_copy_of(run: Materialized, dest: Path, monkeypatch, **overrides: str) -> dict[str, str]:
    """Point the environment at a copy of a materialized project (the shared one stays as it is)."""
    root = Path(run.env["FI_DIARIZATION_HOME"]).parent
    shutil.copytree(root, dest)
    env = {k: v.replace(str(root), str(dest)) for k, v in {**run.env, **overrides}.items()}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture(scope="session")
def bed_windows():
    """VAD regions, window embeddings, fringe windows and decoded audio per human-voice bed file, computed once."""
    from faster_whisper import decode_audio

    from fi_diarization.audio.samples import voiced_regions
    from fi_diarization.speakers.embeddings import embed_windows
    from fi_diarization.speakers.turns import SPEAKER_VAD, fringe_windows
    from fi_diarization_tests.bed import bed_files

    paths = {Path(t["path"]).stem: t["path"] for t in bed_files()}
    cache = {}

    def load(name: str):
        if name not in cache:
            audio = decode_audio(paths[name], sampling_rate=16000)
            regions = voiced_regions(audio, SPEAKER_VAD)
            cache[name] = (regions, *embed_windows(audio, regions), fringe_windows(audio, regions), audio)
        return cache[name]

    return load
