"""The command line, run as a real subprocess where exit codes and streams matter."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fi_diarization_tests.conftest import FIXTURES, TEST_MODEL, project_env

CLI = [str(Path(sys.executable).with_name("fi-diarization"))]


def run(args, env, timeout=300):
    return subprocess.run(CLI + args, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


def nothing_stored(env: dict) -> bool:
    """No file anywhere under the data root."""
    return not any(files for _, _, files in os.walk(env["FI_DIARIZATION_HOME"]))


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    return project_env(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def transcribed(cli_env):
    proc = run(["transcribe", str(FIXTURES / "consult_2spk.wav"), "--model", TEST_MODEL, "--format", "json"], cli_env)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_transcribe_prints_only_json_on_stdout(transcribed):
    doc = json.loads(transcribed.stdout)
    assert set(doc) == {"audio_id", "duration_s", "language", "speakers", "segments", "speaker_count"}
    assert doc["language"] == "en" and doc["duration_s"] == pytest.approx(29.607, abs=0.01)
    count = doc["speaker_count"]
    assert count["source"] == "estimated" and count["count"] == 2 and 0.5 <= count["confidence"] <= 1
    assert [s["speaker"] for s in doc["speakers"]] == ["SPEAKER_00", "SPEAKER_01"]
    assert all(s["role"] is None for s in doc["speakers"])  # nothing listens at OLLAMA_HOST
    assert "good morning" in " ".join(s["text"] for s in doc["segments"]).lower()
    assert "no Ollama server" in transcribed.stderr and "Traceback" not in transcribed.stderr


def test_result_reads_the_same_transcript(cli_env, transcribed):
    doc = json.loads(transcribed.stdout)
    again = run(["result", doc["audio_id"], "--format", "json"], cli_env)
    assert again.returncode == 0 and json.loads(again.stdout) == doc
    srt = run(["result", doc["audio_id"], "--format", "srt"], cli_env).stdout
    assert "SPEAKER_00" in srt and "-->" in srt
    vtt = run(["result", doc["audio_id"], "--format", "vtt"], cli_env).stdout
    assert vtt.startswith("WEBVTT") and "<v SPEAKER_01>" in vtt
    rttm = run(["result", doc["audio_id"], "--format", "rttm"], cli_env).stdout.splitlines()
    assert rttm and all(line.split()[0] == "SPEAKER" and len(line.split()) == 10 for line in rttm)
    path = run(["result", doc["audio_id"], "--format", "path"], cli_env).stdout.strip()
    assert path.endswith(f"transcript/{doc['audio_id']}.parquet") and os.path.isfile(path)


def test_result_never_imports_model_code(cli_env, transcribed):
    audio_id = json.loads(transcribed.stdout)["audio_id"]
    probe = (
        "import sys\n"
        "from fi_diarization.cli import main\n"
        f"code = main(['result', {audio_id!r}, '--format', 'txt'])\n"
        "heavy = [m for m in ('torch', 'faster_whisper', 'ctranslate2', 'resemblyzer', 'dagster', 'matplotlib') if m in sys.modules]\n"
        "print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **cli_env}, capture_output=True, text=True)
    assert "HEAVY [] 0" in proc.stderr


def test_the_collector_is_off_through_the_imports_and_on_for_the_run(tmp_path):
    """`entry` turns Python's collector off while modules import; the run must find it on again."""
    probe = (
        "import gc, sys\n"
        "import fi_diarization.runner as runner\n"
        "def spy(*args, **kwargs):\n"
        "    print('RUN', gc.isenabled(), gc.get_freeze_count(), file=sys.stderr)\n"
        "    return runner.Outcome(False, None, 'stopped by the test')\n"
        "runner.run_partition = spy\n"
        "print('START', gc.isenabled(), file=sys.stderr)\n"
        f"sys.argv = ['fi-diarization', 'transcribe', {str(FIXTURES / 'consult_2spk.wav')!r}, '--model', {TEST_MODEL!r}]\n"
        "from fi_diarization.cli import entry\n"
        "entry()\n"
    )
    env = {**os.environ, **project_env(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "failed: stopped by the test" in proc.stderr, proc.stderr
    assert "START True" in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("RUN ")]
    _, enabled, frozen = line.split()
    # On for the run, with the imports' objects (dagster, pandas: ~390 000) set aside, which
    # `_imports_done` does only when it finds the collector still off.
    assert enabled == "True" and int(frozen) > 100_000


def test_status_reports_done_with_the_roles_reason(cli_env, transcribed):
    audio_id = json.loads(transcribed.stdout)["audio_id"]
    proc = run(["status", audio_id], cli_env)
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"{audio_id}\tdone (no Ollama server at http://127.0.0.1:9")
    assert proc.stdout.rstrip().endswith("roles left empty)")


def test_submit_copies_into_the_inbox_and_status_says_queued(cli_env, tmp_path):
    src = tmp_path / "family visit.wav"
    shutil.copy(FIXTURES / "family_3spk.wav", src)
    proc = run(["submit", str(src)], cli_env)
    assert proc.returncode == 0, proc.stderr
    audio_id = proc.stdout.strip()
    inbox = os.path.join(cli_env["FI_DIARIZATION_HOME"], "inbox")
    assert os.listdir(inbox) == [f"{audio_id}.wav"]
    assert run(["status", audio_id], cli_env).stdout == f"{audio_id}\tqueued\n"
    assert src.exists()


BAD = {
    "empty": (lambda d: (d / "empty.wav").write_bytes(b""), "empty.wav", "empty file"),
    "not audio": (lambda d: (d / "notes.mp3").write_text("hello"), "notes.mp3", "not a recognised audio container"),
    "not audio, odd name": (lambda d: (d / "línea\nnueva.wav").write_text("hi"), "línea\nnueva.wav",
                            "línea\\nnueva.wav: not a recognised audio container"),
    "missing": (lambda d: None, "nope.wav", "no such file"),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("command", ["transcribe", "submit"])
def test_bad_input_exits_2_with_one_line(tmp_path, command, case):
    make, name, message = BAD[case]
    make(tmp_path)
    env = project_env(tmp_path / "root")
    proc = run([command, str(tmp_path / name)], env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert nothing_stored(env)


def test_a_name_is_metadata_never_a_reason_to_refuse(cli_env, transcribed, tmp_path):
    odd = tmp_path / "línea\nnueva.wav"
    shutil.copy(FIXTURES / "consult_2spk.wav", odd)
    proc = run(["transcribe", str(odd), "--model", TEST_MODEL, "--format", "json"], cli_env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(transcribed.stdout)  # same bytes, same audio id and result
    dashed = tmp_path / "-rf .wav"
    shutil.copy(FIXTURES / "family_3spk.wav", dashed)
    proc = run(["submit", str(dashed)], cli_env)
    assert proc.returncode == 0, proc.stderr
    audio_id = proc.stdout.strip()
    assert audio_id.startswith("rf-")
    assert os.path.isfile(os.path.join(cli_env["FI_DIARIZATION_HOME"], "inbox", f"{audio_id}.wav"))


def test_bad_options_exit_2(cli_env):
    proc = run(["transcribe", str(FIXTURES / "consult_2spk.wav"), "--model", "bundled:nope"], cli_env)
    assert proc.returncode == 2 and "unknown bundled model" in proc.stderr and "Traceback" not in proc.stderr
    proc = run(["transcribe", "--sample", "--min-speakers", "3", "--max-speakers", "2"], cli_env)
    assert proc.returncode == 2 and "min_speakers" in proc.stderr


def test_cli_formats_are_the_writers_formats():
    from fi_diarization import cli
    from fi_diarization.results import formats

    assert cli.FORMATS == formats.FORMATS


def test_one_bad_file_among_good_ones_stores_nothing(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    env = project_env(tmp_path / "root")
    proc = run(["transcribe", str(FIXTURES / "consult_2spk.wav"), str(tmp_path / "empty.wav")], env)
    assert proc.returncode == 2 and "empty.wav: empty file" in proc.stderr
    assert nothing_stored(env)


def test_progress_is_shown_on_a_terminal(tmp_path):
    import pty
    import select

    env = {**os.environ, **project_env(tmp_path), "COLUMNS": "120", "TERM": "xterm"}
    master, slave = pty.openpty()
    proc = subprocess.Popen(CLI + ["transcribe", "--sample", "--model", TEST_MODEL, "--format", "txt"],
                            env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        try:
            chunk = os.read(master, 65536) if ready else b""
        except OSError:  # the child closed the terminal
            chunk = b""
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=60) == 0
    text = seen.decode("utf-8", "replace")
    assert "transcription.transcribe_batch" in text or "transcription.plan_batches" in text
    assert "SPEAKER_00" in text


def test_result_of_an_unknown_id_is_one_line_and_exit_1(cli_env):
    proc = run(["result", "nope-000000000000"], cli_env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == "fi-diarization: error: no materialized transcript for nope-000000000000\n"
