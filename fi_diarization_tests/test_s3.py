"""The data root in an object store: a real S3 API (moto's server, a process on loopback).

FI_DIARIZATION_HOME=s3://fi-test/data for the whole pipeline, a SIGKILL mid-transcription
and the resume, re-upload dedupe, the inbox sensor watching a prefix, `load_transcripts()`
reading from the URL, and writes that show up whole or not at all. Credentials are made up
per session and reach every process only through the standard AWS variables.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import types
import uuid
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from fi_diarization_tests.conftest import FIXTURES, TEST_MODEL, project_env
from fi_diarization_tests.media import long_conversation as _long_conversation

pytest.importorskip("s3fs")
pytest.importorskip("moto")

FI = str(Path(sys.executable).with_name("fi-diarization"))
BUCKET = "fi-test"
HOME = f"s3://{BUCKET}/data"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory):
    """A moto S3 server process on 127.0.0.1 and the environment that points at it."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "moto server did not start"
            time.sleep(0.2)
    root = tmp_path_factory.mktemp("s3")
    env = {
        **project_env(root),
        "FI_DIARIZATION_HOME": HOME,
        "FI_LOCAL_CACHE": str(root / "local-cache"),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": uuid.uuid4().hex,
        "AWS_SECRET_ACCESS_KEY": uuid.uuid4().hex,
        "AWS_DEFAULT_REGION": "us-east-1",
        # Only the environment: no credentials or config file is read.
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-credentials"),
        "AWS_CONFIG_FILE": str(root / "no-config"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        _s3().mkdir(BUCKET)
        yield env
    server.terminate()
    server.wait(timeout=30)


def _s3():
    """A fresh S3 client of our own (no listing cache), to look at what the pipeline wrote."""
    import s3fs

    return s3fs.S3FileSystem(use_listings_cache=False, skip_instance_cache=True)


def _objects(prefix: str) -> dict[str, tuple]:
    fs = _s3()
    # Polled while a run writes: a listing can also hold a prefix ("directory") entry, which has no ETag.
    found = fs.find(f"{BUCKET}/data/{prefix}", detail=True).items()
    return {key: (info["ETag"], info["LastModified"]) for key, info in found if info.get("type") == "file"}


def _transcribe(wav: Path, env: dict, **kw) -> subprocess.CompletedProcess:
    args = [FI, "transcribe", str(wav), "--model", TEST_MODEL, "--num-speakers", "4", "--format", "json"]
    return subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def resumed(s3_env, tmp_path_factory):
    """The whole pipeline on S3 for a 96 s conversation, killed after its first chunk, then resumed."""
    wav = _long_conversation(tmp_path_factory.mktemp("audio") / "long.wav")
    env = {**s3_env, "WHISPER_BATCH_SIZE": "1"}  # every finished chunk is cached before the next
    proc = subprocess.Popen(
        [FI, "transcribe", str(wav), "--model", TEST_MODEL, "--num-speakers", "4", "--format", "json"],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if _objects("cache/chunks"):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    assert proc.wait() == -signal.SIGKILL, "the run ended before a chunk was cached"
    finished = _objects("cache/chunks")
    result = _transcribe(wav, env)
    return types.SimpleNamespace(wav=wav, env=env, finished=finished, result=result)


def test_pipeline_on_s3_resumes_after_a_kill(s3_env, resumed):
    from fi_diarization.results import load_transcripts
    from fi_diarization.store import read_parquet

    assert resumed.result.returncode == 0, resumed.result.stderr[-3000:]
    (chunk_plan,) = _objects("storage/chunks")
    n_chunks = read_parquet(f"s3://{chunk_plan}").num_rows
    assert 0 < len(resumed.finished) < n_chunks
    chunks = _objects("cache/chunks")
    # The chunks finished before the kill were read back, not transcribed and uploaded again.
    assert {k: v for k, v in chunks.items() if k in resumed.finished} == resumed.finished
    assert len(chunks) == n_chunks
    # Every asset's Parquet, the stored original, its samples: all in the bucket, none on disk.
    stored = {key.split("/")[3] for key in _objects("storage")}
    assert stored == {"audio", "chunks", "transcription", "speaker_turns", "speaker_segments", "speaker_roles", "transcript"}
    assert len(_objects("samples")) == 1 and len(_objects("audio")) == 2  # the original and its intake record
    assert not Path(s3_env["DAGSTER_HOME"]).with_name("data").exists()
    # The killed run was reaped and re-executed from failure.
    with dg.DagsterInstance.from_config(s3_env["DAGSTER_HOME"]) as instance:
        killed, done = sorted(instance.get_runs(), key=lambda r: r.status.value)
    assert (killed.status, done.status) == (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS)
    assert done.parent_run_id == killed.run_id
    # pandas reads the same URL, without the CLI and without model code.
    printed = json.loads(resumed.result.stdout)
    frame = load_transcripts(home=HOME)
    assert len(frame) == len(printed["segments"]) > 0
    assert list(frame["text"]) == [s["text"] for s in printed["segments"]]
    assert frame["speaker"].nunique() >= 3
    probe = (
        "import sys\n"
        "from fi_diarization.results import load_transcripts\n"
        f"rows = len(load_transcripts(home={HOME!r}))\n"
        "heavy = [m for m in ('torch', 'faster_whisper', 'ctranslate2', 'resemblyzer', 'dagster') if m in sys.modules]\n"
        "print('ROWS', rows, 'HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **s3_env}, capture_output=True, text=True)
    assert f"ROWS {len(frame)} HEAVY []" in proc.stdout, proc.stderr[-2000:]


def test_reupload_under_another_name_starts_nothing(s3_env, resumed, tmp_path, monkeypatch):
    from fi_diarization.cli import cli
    from fi_diarization.speech import models

    copy = tmp_path / "same bytes again.wav"
    copy.write_bytes(resumed.wav.read_bytes())
    with dg.DagsterInstance.from_config(s3_env["DAGSTER_HOME"]) as instance:
        runs_before = len(instance.get_runs())
    loads_before = models._load.cache_info().misses
    result = CliRunner().invoke(cli, ["transcribe", str(copy), "--model", TEST_MODEL, "--num-speakers", "4"])
    assert result.exit_code == 0, result.output
    assert "answered from the materialized transcript" in result.stderr
    submitted = CliRunner().invoke(cli, ["submit", str(copy)])
    assert submitted.exit_code == 0 and submitted.stdout.strip().startswith("long-")
    assert not _objects("inbox")  # known bytes: nothing queued
    assert models._load.cache_info().misses == loads_before
    with dg.DagsterInstance.from_config(s3_env["DAGSTER_HOME"]) as instance:
        assert len(instance.get_runs()) == runs_before
    assert len(_objects("audio")) == 2


def test_inbox_sensor_watches_a_prefix(s3_env, resumed):
    from fi_diarization.audio.intake import find_audio, rejection
    from fi_diarization.definitions import defs
    from fi_diarization.settings import get_settings

    fs = _s3()
    fs.put_file(str(resumed.wav), f"{BUCKET}/data/inbox/long again.wav")  # known bytes
    fs.put_file(str(FIXTURES / "consult_2spk.wav"), f"{BUCKET}/data/inbox/visit.wav")
    fs.pipe_file(f"{BUCKET}/data/inbox/notes.wav", b"these are not audio bytes")
    fs.pipe_file(f"{BUCKET}/data/inbox/.partial.wav", b"RIFF")  # hidden: an upload in progress
    sensor = defs.resolve_sensor_def("inbox_sensor")
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))
        assert not first.run_requests  # first sight: wait for a second look
        second = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    (request,) = second.run_requests
    assert request.partition_key.startswith("visit-")
    assert [k for r in second.dynamic_partitions_requests for k in r.partition_keys] == [request.partition_key]
    assert set(_objects("inbox")) == {f"{BUCKET}/data/inbox/.partial.wav"}
    settings = get_settings()
    assert str(find_audio(settings, request.partition_key)).startswith(f"{HOME}/audio/visit-")
    (reason_key,) = [k for k in _objects("quarantine") if k.endswith(".reason.json")]
    qid = reason_key.rsplit("/", 1)[1].removesuffix(".reason.json")
    assert qid.startswith("notes-") and "not a recognised audio container" in rejection(settings, qid)
    assert f"{BUCKET}/data/quarantine/{qid}" in _objects("quarantine")


def test_an_interrupted_upload_leaves_the_old_object(s3_env):
    # The child finishes a new version locally and is SIGKILLed as the upload starts.
    path = f"{HOME}/scratch/x.parquet"
    child = textwrap.dedent(
        f"""
        import os, signal
        import pyarrow as pa
        from fi_diarization.store import as_path, write_parquet_atomic
        dest = as_path({path!r})
        write_parquet_atomic(pa.table({{"a": [1, 2, 3]}}), dest)
        dest.fs.put_file = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        write_parquet_atomic(pa.table({{"a": list(range(100000))}}), dest)
        """
    )
    proc = subprocess.run([sys.executable, "-c", child], env=os.environ.copy())
    assert proc.returncode == -9
    from fi_diarization.store import read_parquet

    assert read_parquet(path).column("a").to_pylist() == [1, 2, 3]
    assert list(_objects("scratch")) == [f"{BUCKET}/data/scratch/x.parquet"]  # no temporary object


def test_a_write_is_one_put_of_the_finished_object(s3_env):
    import pyarrow as pa

    from fi_diarization.store import as_path, write_json_atomic, write_parquet_atomic

    calls = []
    dest = as_path(f"{HOME}/scratch/one.parquet")
    dest.fs.connect()
    dest.fs.s3.meta.events.register("before-call.s3", lambda model, **kw: calls.append(model.name))
    write_parquet_atomic(pa.table({"a": list(range(1000))}), dest)
    write_json_atomic({"reason": "x"}, as_path(f"{HOME}/scratch/one.json"))
    assert calls == ["PutObject", "PutObject"]


def test_a_missing_bucket_is_one_line_and_exit_2(s3_env, monkeypatch):
    from fi_diarization.cli import cli

    monkeypatch.setenv("FI_DIARIZATION_HOME", "s3://no-such-bucket/data")
    result = CliRunner().invoke(cli, ["transcribe", str(FIXTURES / "consult_2spk.wav"), "--model", TEST_MODEL])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "fi-diarization: error: FI_DIARIZATION_HOME=s3://no-such-bucket/data: "
        "bucket 'no-such-bucket' does not exist or these credentials cannot see it"
    ]
