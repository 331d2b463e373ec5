"""Faults in the middle of a run: storage that refuses writes, an Ollama server that breaks mid-answer."""

import contextlib
import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fi_diarization.cli import cli
from fi_diarization_tests.conftest import FIXTURES, TEST_MODEL, use_copy_of


def _mount(*args: str) -> bool:
    """Whether `mount ARGS` worked (it needs root with CAP_SYS_ADMIN)."""
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only(folder: Path):
    """`folder` read-only: a read-only bind mount as root (root ignores modes), else mode 0555; yields whether it is."""
    if os.geteuid():
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")] if p.is_dir()}
        for path in modes:
            path.chmod(0o555)
        try:
            yield True
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    if not _mount("--bind", str(folder), str(folder)):
        yield False
        return
    try:
        yield _mount("-o", "remount,bind,ro", str(folder))
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)  # lazy: a failed write may still hold a file open


@contextlib.contextmanager
def full(folder: Path, tmp: Path):
    """`folder` on a small tmpfs holding what it held, filled to the last byte; yields whether it is."""
    saved = tmp / "saved"
    shutil.copytree(folder, saved)
    if not _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)):
        yield False
        return
    try:
        shutil.copytree(saved, folder, dirs_exist_ok=True)
        with (folder / ".filler").open("wb") as fh:
            with pytest.raises(OSError) as err:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
        assert err.value.errno == errno.ENOSPC
        yield True
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)  # lazy: a failed write may still hold a file open


def test_storage_read_only_or_full_fails_the_run_keeps_the_result_and_recovers(consult_run, tmp_path, monkeypatch):
    from fi_diarization.settings import get_settings
    from fi_diarization.status import audio_status, open_instance

    use_copy_of(consult_run, tmp_path / "copy", monkeypatch)
    settings = get_settings()
    audio_id = consult_run.audio_id
    result = settings.storage / "transcript" / f"{audio_id}.parquet"
    before, written = result.read_bytes(), result.stat().st_mtime_ns
    args = ["transcribe", str(FIXTURES / "consult_2spk.wav"), "--model", TEST_MODEL, "--force", "--format", "json"]
    faults = {
        "storage not writable": (read_only(settings.storage), "Permission denied" if os.geteuid() else "Read-only file system"),
        "storage full": (full(settings.storage, tmp_path), "No space left on device"),
    }
    not_made = []
    for what, (fault, cause) in faults.items():
        with fault as made:
            if not made:
                not_made.append(what)
                continue
            ran = CliRunner().invoke(cli, args)
            assert ran.exit_code == 1, ran.output
            state = audio_status(open_instance(settings), settings, audio_id)
        # The first write of the run is the `audio` asset's Parquet; nothing else was touched.
        assert state == f"failed: {what}: could not write {settings.storage}/audio/{audio_id}.parquet ({cause})"
        assert f"{audio_id} failed: {what}" in ran.stderr
        assert result.read_bytes() == before and result.stat().st_mtime_ns == written
        assert not list(settings.storage.rglob(".*.tmp"))
    # The fault cleared: the next run resumes from the failed one and succeeds.
    ran = CliRunner().invoke(cli, args)
    assert ran.exit_code == 0, ran.output
    assert audio_status(open_instance(settings), settings, audio_id).startswith("done")
    assert result.stat().st_mtime_ns != written  # rewritten by this run
    if not_made:
        pytest.skip(f"could not make {not_made} here: needs `mount` (root with CAP_SYS_ADMIN)")


def test_ollama_dying_mid_answer_keeps_the_transcript(consult_run, tmp_path, monkeypatch):
    # A 10 MB body takes the same path (a failed answer: roles null); test_roles shows its memory bound.
    import json

    from fi_diarization.settings import get_settings
    from fi_diarization.status import audio_status, open_instance
    from fi_diarization_tests.ollama_server import FakeOllama

    with FakeOllama() as server:
        server.fault = "die"
        use_copy_of(consult_run, tmp_path / "copy", monkeypatch, OLLAMA_HOST=server.url)
        ran = CliRunner().invoke(
            cli, ["transcribe", str(FIXTURES / "consult_2spk.wav"), "--model", TEST_MODEL, "--force", "--format", "json"]
        )
    assert ran.exit_code == 0, ran.output
    assert len(server.requests) == 1  # it was asked, and died answering
    doc = json.loads(ran.stdout)
    assert [s["role"] for s in doc["speakers"]] == [None, None]
    assert "good morning" in " ".join(s["text"] for s in doc["segments"]).lower()
    expected = f"no Ollama server at {server.url}"
    settings = get_settings()
    state = audio_status(open_instance(settings), settings, consult_run.audio_id)
    assert state.startswith("done (") and expected in state
    assert expected in ran.stderr
