"""Parquet as the cache: free re-uploads, resume after SIGKILL, status from the instance."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from click.testing import CliRunner

from fi_diarization.cli import cli
from fi_diarization.speech import models as whisper
from fi_diarization.results import load_transcripts
from fi_diarization_tests.conftest import FIXTURES, TEST_MODEL, project_env, use_copy_of
from fi_diarization_tests.media import long_conversation

FI = str(Path(sys.executable).with_name("fi-diarization"))


def instance_runs(dagster_home: str) -> list[dg.DagsterRun]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", dagster_home)
        return list(dg.DagsterInstance.get().get_runs())


def test_identical_reupload_starts_no_run_and_loads_no_model(consult_run, tmp_path, monkeypatch):
    for key, value in consult_run.env.items():
        monkeypatch.setenv(key, value)
    copy = tmp_path / "same bytes, another name.wav"
    shutil.copyfile(FIXTURES / "consult_2spk.wav", copy)
    runs_before = len(instance_runs(consult_run.env["DAGSTER_HOME"]))
    loads_before = whisper._load.cache_info().misses
    result = CliRunner().invoke(cli, ["transcribe", str(copy), "--model", TEST_MODEL, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert consult_run.audio_id in result.stdout
    assert "answered from the materialized transcript" in result.stderr
    assert len(instance_runs(consult_run.env["DAGSTER_HOME"])) == runs_before
    assert whisper._load.cache_info().misses == loads_before


def test_other_options_are_a_new_result_not_a_stale_hit(consult_run, tmp_path, monkeypatch):
    from fi_diarization.results import result_meta

    env = use_copy_of(consult_run, tmp_path / "copy", monkeypatch)
    before = result_meta(consult_run.audio_id)
    chunk_files = sorted((Path(env["FI_DIARIZATION_HOME"]) / "cache" / "chunks").rglob("*.parquet"))
    runs_before = len(instance_runs(env["DAGSTER_HOME"]))
    result = CliRunner().invoke(
        cli, ["transcribe", str(FIXTURES / "consult_2spk.wav"), "--model", TEST_MODEL, "--num-speakers", "3"]
    )
    assert result.exit_code == 0, result.output
    assert len(instance_runs(env["DAGSTER_HOME"])) == runs_before + 1
    after = result_meta(consult_run.audio_id)
    assert after.fingerprint != before.fingerprint
    assert '"num_speakers":3' in after.options
    # Only the speaker stages changed: every chunk came from the chunk cache.
    assert sorted((Path(env["FI_DIARIZATION_HOME"]) / "cache" / "chunks").rglob("*.parquet")) == chunk_files


def test_load_transcripts_filters_and_types(consult_run):
    home = consult_run.settings.home
    everything = load_transcripts(home=home)
    one = load_transcripts(consult_run.audio_id, home=home)
    assert len(one) == len(everything) > 0
    none = load_transcripts(["unknown-000000000000"], home=home)
    assert none.empty and str(none["speaker"].dtype) == "string" and str(none["start"].dtype) == "float64"


def _transcribe(wav: Path, env: dict, **kw):
    args = [FI, "transcribe", str(wav), "--model", TEST_MODEL, "--num-speakers", "4", "--format", "json"]
    return subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True, timeout=600, **kw)


def test_sigkill_mid_transcription_then_resume(tmp_path):
    wav = long_conversation(tmp_path / "long.wav")
    # One chunk per Whisper call, so every finished chunk is cached before the next starts.
    env = {**project_env(tmp_path / "killed"), "WHISPER_BATCH_SIZE": "1"}
    cache = Path(env["FI_DIARIZATION_HOME"]) / "cache" / "chunks"
    proc = subprocess.Popen(
        [FI, "transcribe", str(wav), "--model", TEST_MODEL, "--num-speakers", "4", "--format", "json"],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if cache.exists() and any(cache.rglob("*.parquet")):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    assert proc.wait() == -signal.SIGKILL, "the run ended before a chunk was cached"
    finished = {p: p.stat().st_mtime_ns for p in cache.rglob("*.parquet")}
    chunks = pd.read_parquet(next((Path(env["FI_DIARIZATION_HOME"]) / "storage" / "chunks").glob("*.parquet")))
    assert 0 < len(finished) < len(chunks)

    resumed = _transcribe(wav, env)
    assert resumed.returncode == 0, resumed.stderr
    # The chunks finished before the kill were read, not transcribed again.
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    assert len(list(cache.rglob("*.parquet"))) == len(chunks)
    runs = instance_runs(env["DAGSTER_HOME"])
    killed, resumed_run = sorted(runs, key=lambda r: r.status.value)
    # The killed run was reaped (marked failed, pool slot freed) and re-executed from failure.
    assert (killed.status, resumed_run.status) == (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS)
    assert resumed_run.parent_run_id == killed.run_id
    logs = subprocess.run([FI, "status"], env={**os.environ, **env}, capture_output=True, text=True).stdout
    assert "\tdone" in logs

    whole = _transcribe(wav, {**project_env(tmp_path / "whole"), "WHISPER_BATCH_SIZE": "1"})
    assert whole.returncode == 0, whole.stderr
    assert resumed.stdout == whole.stdout


def test_status_reports_failure_reason_and_rejection(home, monkeypatch):
    from fi_diarization.audio.intake import accept, quarantine
    from fi_diarization.options import RunOptions
    from fi_diarization.runner import run_partition
    from fi_diarization.status import audio_status, open_instance

    accepted = accept(home, FIXTURES / "consult_2spk.wav", move=False)
    accepted.path.unlink()  # the stored audio vanished before the run
    instance = open_instance(home)
    outcome = run_partition(instance, accepted.audio_id, RunOptions(model=TEST_MODEL), source="test")
    assert not outcome.success
    assert audio_status(instance, home, accepted.audio_id) == f"failed: no stored audio for {accepted.audio_id} under {home.audio_dir}"
    bad = home.inbox / "junk.wav"
    bad.write_text("junk")
    qid = quarantine(home, bad, "junk.wav: not a recognised audio container")
    assert audio_status(instance, home, qid) == "rejected: junk.wav: not a recognised audio container"
    assert audio_status(instance, home, "never-000000000000") == "unknown"


def test_two_workers_on_one_file_decode_plan_and_transcribe_it_once(home, monkeypatch):
    """Whoever takes a step's lock first does the work; the other waits and reads it."""
    import threading

    from fi_diarization.audio import samples as samples_module
    from fi_diarization.audio.intake import accept
    from fi_diarization.speech import chunk_cache, chunking
    from fi_diarization.speech.models import load_model

    accepted = accept(home, FIXTURES / "consult_2spk.wav", move=False)
    dest = home.samples_file(accepted.sha256)
    calls = {"decode": 0, "vad": 0, "whisper": 0}

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            time.sleep(0.3)  # hold the lock long enough for the other worker to queue behind it
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(samples_module, "decode_to_file", counted("decode", samples_module.decode_to_file))
    monkeypatch.setattr(chunking, "voiced_regions", counted("vad", chunking.voiced_regions))
    monkeypatch.setattr(chunk_cache, "transcribe_chunks", counted("whisper", chunk_cache.transcribe_chunks))
    loaded = load_model(TEST_MODEL)
    results = []

    def worker():
        samples_module.ensure_samples(accepted.path, dest, accepted.info.container)
        planned = list(enumerate(chunking.chunk_plan(str(dest), accepted.sha256)))
        tables = chunk_cache.transcribe_cached(
            loaded, str(dest), planned, sha256=accepted.sha256, audio_id=accepted.audio_id,
            model=TEST_MODEL, language="en", group=8,
        )
        results.append(sorted(" ".join(t.column("text").to_pylist()) for t in tables))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == {"decode": 1, "vad": 1, "whisper": 1}
    assert len(results) == 2 and results[0] == results[1] and "".join(results[0]).strip()
