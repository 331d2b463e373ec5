"""The CLI's instance keeps its SQLite event-log connections (`event_log.keep_connections`).

What is written must be what another process reads, at once and after a SIGKILL; one connection
serves many statements, from more than one thread; a partition is remembered only once found.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import uuid

import dagster as dg
import pytest

from fi_diarization.event_log import keep_connections
from fi_diarization.status import open_instance

EVENTS = 40


def _run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    return instance.add_run(dg.DagsterRun(job_name="probe", run_id=str(uuid.uuid4())))


def _engine_events(run_id: str) -> int:
    """Engine events of the run, read by a new process on its own instance."""
    code = (
        "import sys, dagster as dg\n"
        "from fi_diarization.settings import get_settings\n"
        "from fi_diarization.status import open_instance\n"
        "records = open_instance(get_settings()).get_records_for_run(sys.argv[1], of_type=dg.DagsterEventType.ENGINE_EVENT, limit=10000)\n"
        "print(len(records.records))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, run_id], capture_output=True, text=True, timeout=120, check=True)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def opened(monkeypatch):
    """Count the SQLite connections this process opens."""
    opened = []
    connect = sqlite3.connect

    def counting(*args, **kwargs):
        opened.append(args[0] if args else kwargs.get("database"))
        return connect(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", counting)
    monkeypatch.setattr(sqlite3.dbapi2, "connect", counting)
    return opened


def test_one_connection_per_shard_and_another_process_reads_every_event(home, opened):
    instance = open_instance(home)
    run = _run(instance)
    instance.report_engine_event("warm", run)  # Dagster's way: a connection per statement
    before = len(opened)
    for i in range(EVENTS):
        instance.report_engine_event(f"event {i}", run)
    assert len(opened) - before >= EVENTS

    keep_connections(instance)
    kept = _run(instance)
    before = len(opened)
    for i in range(EVENTS):
        instance.report_engine_event(f"event {i}", kept)
    assert len(opened) - before <= 2  # the run's shard, and at most the index
    assert _engine_events(kept.run_id) == EVENTS
    assert _engine_events(run.run_id) == EVENTS + 1


def test_threads_share_the_kept_connection(home):
    instance = open_instance(home)
    keep_connections(instance)
    run = _run(instance)
    errors = []

    def write(n: int) -> None:
        try:
            for i in range(EVENTS // 4):
                instance.report_engine_event(f"thread {n} event {i}", run)
        except Exception as exc:  # noqa: BLE001 (collected and shown below)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _engine_events(run.run_id) == EVENTS


def test_what_a_killed_process_wrote_is_read(home):
    code = (
        "import os, signal, uuid, dagster as dg\n"
        "from fi_diarization.event_log import keep_connections\n"
        "from fi_diarization.settings import get_settings\n"
        "from fi_diarization.status import open_instance\n"
        "instance = open_instance(get_settings())\n"
        "keep_connections(instance)\n"
        "run = instance.add_run(dg.DagsterRun(job_name='probe', run_id=str(uuid.uuid4())))\n"
        f"for i in range({EVENTS}):\n"
        "    instance.report_engine_event(f'event {i}', run)\n"
        "print(run.run_id, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == -9, proc.stderr
    assert _engine_events(proc.stdout.split()[0]) == EVENTS


def test_a_partition_is_remembered_once_found(home):
    instance = open_instance(home)
    keep_connections(instance)
    assert not instance.has_dynamic_partition("audio_files", "a")  # not found: asked again next time
    instance.add_dynamic_partitions("audio_files", ["a"])
    assert instance.has_dynamic_partition("audio_files", "a")
    instance.delete_dynamic_partition("audio_files", "a")
    # Remembered for the rest of this process (the CLI's run), as documented.
    assert instance.has_dynamic_partition("audio_files", "a")
    assert not open_instance(home).has_dynamic_partition("audio_files", "a")
