"""A busy inbox and a killed run worker, through `dagster-daemon run` as users start it."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import yaml

from fi_diarization.definitions import JOB_NAME
from fi_diarization.defs.partitions import audio_files
from fi_diarization.tags import PARTITION_TAG
from fi_diarization_tests.conftest import FIXTURES, PROJECT_ROOT, project_env, running_daemon
from fi_diarization_tests.media import clip, long_conversation

ASSETS = ("audio", "chunks", "transcription", "speaker_turns", "speaker_segments", "speaker_roles", "transcript")
FI = str(Path(sys.executable).with_name("fi-diarization"))
# A bound, not a speed target: each 4 s file took 20-30 s of run here (a fresh run worker
# imports Dagster, torch and the models) with other work sharing the two cores.
DEADLINE_S = 600


def wait_for(check, deadline: float, every: float = 0.5) -> bool:
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return bool(check())


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans open at the same moment."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def step_spans(instance: dg.DagsterInstance, run_id: str, prefix: str) -> list[tuple[float, float]]:
    """(start, end) of each step of a run whose key starts with `prefix`."""
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    starts, spans = {}, []
    for record in instance.get_records_for_run(run_id, of_type=kinds, limit=10_000).records:
        event = record.event_log_entry
        if not (event.step_key or "").startswith(prefix):
            continue
        if event.dagster_event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = event.timestamp
        else:
            spans.append((starts.pop(event.step_key), event.timestamp))
    return spans


def test_ten_files_at_once_each_good_one_done_exactly_once(tmp_path):
    env = {**project_env(tmp_path), "FI_SENSOR_INTERVAL_S": "1"}
    # The project's dagster.yaml with two runs at once instead of one, so that runs do overlap
    # and the caps are tested: at most two runs, and one `whisper` op at a time across them.
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    config["concurrency"]["runs"]["max_concurrent_runs"] = 2
    (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text(yaml.safe_dump(config))
    home = Path(env["FI_DIARIZATION_HOME"])
    staged = tmp_path / "staged"
    staged.mkdir()
    fixtures = ["consult_2spk.wav", "consulta_es.wav", "family_3spk.wav", "ward_4spk.wav"]
    good = [clip(FIXTURES / name, staged / f"{Path(name).stem}_{start:.0f}.wav", start, 4.0)
            for name in fixtures for start in (0.0, 10.0)]  # 8 distinct files of 4 s
    shutil.copy(good[0], staged / "the same bytes again.wav")
    (staged / "broken.wav").write_bytes(good[1].read_bytes()[:44] + b"\x00" * 64)  # a header, no audio
    assert len(list(staged.iterdir())) == 10

    inbox, transcripts = home / "inbox", home / "storage" / "transcript"
    with running_daemon(env, tmp_path / "daemon.log"):
        inbox.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        for path in staged.iterdir():
            os.replace(path, inbox / path.name)
        done = wait_for(lambda: len(list(transcripts.glob("*.parquet"))) >= len(good), started + DEADLINE_S)
        wall_s = time.monotonic() - started
        time.sleep(3)  # three more sensor ticks: nothing else may start
    log = (tmp_path / "daemon.log").read_text(errors="replace")
    assert done, f"{len(list(transcripts.glob('*.parquet')))} of {len(good)} done in {DEADLINE_S} s\n{log[-3000:]}"

    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    records = instance.get_run_records(filters=dg.RunsFilter(job_name=JOB_NAME))  # not the stats' refreshes
    keys = sorted(r.dagster_run.tags[PARTITION_TAG] for r in records)
    print(f"\nload: 10 files, {len(records)} runs, {wall_s:.0f} s from the drop to the last transcript")
    assert len(records) == len(good) and len(set(keys)) == len(good)  # each good file exactly once
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    cap = instance.get_concurrency_config().run_queue_config.max_concurrent_runs
    assert most_at_once([(r.start_time, r.end_time) for r in records]) <= cap == 2
    whisper_ops = [s for r in records for s in step_spans(instance, r.dagster_run.run_id, "transcription.transcribe_batch")]
    assert len(whisper_ops) == len(good) and most_at_once(whisper_ops) == 1
    # Nothing lost, nothing twice.
    assert sorted(instance.get_dynamic_partitions(audio_files.name)) == keys
    for asset in ASSETS:
        assert sorted(p.stem for p in (home / "storage" / asset).glob("*.parquet")) == keys, asset
    assert sorted(p.stem for p in (home / "audio").glob("*.json")) == keys
    assert not any(inbox.iterdir())
    (reason,) = (home / "quarantine").glob("*.reason.json")
    qid = reason.name.removesuffix(".reason.json")
    assert sorted(p.name for p in (home / "quarantine").iterdir()) == sorted([reason.name, qid])
    status = subprocess.run([FI, "status"], env={**os.environ, **env}, capture_output=True, text=True).stdout
    assert sorted(line.split("\t")[0] for line in status.splitlines() if "\tdone" in line) == keys
    assert f"{qid}\trejected: broken.wav: " in status


def test_killed_run_worker_fails_the_run_frees_the_slot_and_the_rerun_resumes(tmp_path):
    # One chunk per Whisper call, so every finished chunk is in the chunk cache before the next starts.
    env = {**project_env(tmp_path), "FI_SENSOR_INTERVAL_S": "1", "WHISPER_BATCH_SIZE": "1"}
    home = Path(env["FI_DIARIZATION_HOME"])
    wav = long_conversation(tmp_path / "long.wav")
    cache = home / "cache" / "chunks"
    with running_daemon(env, tmp_path / "daemon.log"):
        instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
        (home / "inbox").mkdir(parents=True, exist_ok=True)
        shutil.copy(wav, home / "inbox" / "long.wav")
        deadline = time.monotonic() + DEADLINE_S
        assert wait_for(lambda: cache.exists() and any(cache.rglob("*.parquet")), deadline, every=0.05)
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name=JOB_NAME))
        # The run holds the `whisper` slot; its worker is the process running the step.
        (slot,) = instance.event_log_storage.get_concurrency_info("whisper").claimed_slots
        assert slot.run_id == run.run_id
        (started,) = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START).records[-1:]
        assert started.event_log_entry.step_key.startswith("transcription.transcribe_batch")
        os.kill(started.event_log_entry.dagster_event.pid, signal.SIGKILL)
        finished = {p: p.stat().st_mtime_ns for p in cache.rglob("*.parquet")}

        assert wait_for(lambda: instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE, deadline)
        assert wait_for(lambda: not instance.event_log_storage.get_concurrency_info("whisper").claimed_slots, deadline)
        status = subprocess.run([FI, "status"], env={**os.environ, **env}, capture_output=True, text=True).stdout
        assert status == f"{run.tags[PARTITION_TAG]}\tfailed: Run execution process for {run.run_id} was terminated by signal 9 (SIGKILL)\n"
        # The re-run takes the freed slot and transcribes only what the killed run had not finished.
        rerun = subprocess.run([FI, "transcribe", str(wav), "--format", "json"], env={**os.environ, **env},
                               capture_output=True, text=True, timeout=DEADLINE_S)
    assert rerun.returncode == 0, rerun.stderr
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    chunks = pd.read_parquet(home / "storage" / "chunks" / f"{run.tags[PARTITION_TAG]}.parquet")
    assert 0 < len(finished) < len(chunks) == len(list(cache.rglob("*.parquet")))
    killed, resumed = sorted(instance.get_runs(filters=dg.RunsFilter(job_name=JOB_NAME)), key=lambda r: r.status.value)
    assert (killed.run_id, killed.status, resumed.status) == (run.run_id, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS)
    assert resumed.parent_run_id == run.run_id
