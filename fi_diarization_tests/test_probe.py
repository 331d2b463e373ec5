"""probe: what is refused before decoding, and what is accepted."""

import os
from pathlib import Path

import pytest

from fi_diarization.audio.probe import RejectedAudio, check_name, probe, sha256_file
from fi_diarization_tests.conftest import FIXTURES
from fi_diarization_tests.media import encode, silent_video, tone

WAV = FIXTURES / "consult_2spk.wav"


@pytest.mark.parametrize(
    ("codec", "container", "name"),
    [("flac", None, "a.flac"), ("libopus", "ogg", "a.ogg"), ("libmp3lame", None, "a.mp3"), ("aac", "mp4", "a.m4a"), ("opus", "webm", "a.webm")],
)
def test_accepts_common_audio(tmp_path, codec, container, name):
    info = probe(encode(WAV, tmp_path / name, codec, container, seconds=4), max_duration_s=60)
    assert 3.9 < info.duration_s < 4.2
    assert info.channels == 1


def test_wav_facts_come_from_the_container():
    info = probe(WAV, max_duration_s=60)
    assert (info.container, info.codec, info.sample_rate) == ("wav", "pcm_s16le", 16000)
    assert info.duration_s == pytest.approx(29.607, abs=0.01)


def _half(src: Path, dest: Path) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    (tmp / "empty.wav").write_bytes(b"")
    (tmp / "notes.wav").write_text("these are not audio samples\n" * 10)
    (tmp / "playlist.mp3").write_text("#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n")
    (tmp / "concat.wav").write_text("ffconcat version 1.0\nfile /etc/passwd\n")
    mp3 = encode(WAV, tmp / "whole.mp3", "libmp3lame", seconds=6)
    (tmp / "folder.wav").mkdir()
    os.symlink(WAV, tmp / "link.wav")
    return {
        "empty": (tmp / "empty.wav", "empty file"),
        "text": (tmp / "notes.wav", "not a recognised audio container"),
        "hls playlist": (tmp / "playlist.mp3", "not a recognised audio container"),
        "concat demuxer": (tmp / "concat.wav", "not a recognised audio container"),
        "truncated wav": (_half(WAV, tmp / "cut.wav"), "truncated"),
        "truncated mp3": (_half(mp3, tmp / "cut.mp3"), "truncated"),
        "truncated flac": (_half(encode(WAV, tmp / "w.flac", "flac", seconds=6), tmp / "cut.flac"), "undecodable"),
        "no audio stream": (silent_video(tmp / "video.mp4"), "no audio stream"),
        "directory": (tmp / "folder.wav", "not a regular file"),
        "symlink": (tmp / "link.wav", "not a regular file"),
        "missing": (tmp / "nope.wav", "no such file"),
    }


@pytest.mark.parametrize(
    "case",
    ["empty", "text", "hls playlist", "concat demuxer", "truncated wav", "truncated mp3", "truncated flac",
     "no audio stream", "directory", "symlink", "missing"],
)
def test_refuses_bad_input_with_one_line(tmp_path, case):
    path, expected = _bad_files(tmp_path)[case]
    with pytest.raises(RejectedAudio) as err:
        probe(path, max_duration_s=60)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_duration_cap_is_read_before_decoding(tmp_path):
    # Ten minutes of silence is a tiny FLAC; the cap refuses it from the header alone.
    long = encode(tone(tmp_path / "silence.wav", 600.0), tmp_path / "long.flac", "flac")
    assert long.stat().st_size < 1_000_000
    with pytest.raises(RejectedAudio, match="600 s is over the 300 s cap"):
        probe(long, max_duration_s=300)


@pytest.mark.parametrize("name", ["-rf.wav", ".hidden.wav", "a\nb.wav", "a\x1bb.wav", "x" * 300 + ".wav", ".."])
def test_unsafe_names(name):
    with pytest.raises(RejectedAudio, match="unsafe file name"):
        check_name(name)


def test_sha256_is_of_the_bytes(tmp_path):
    copy = tmp_path / "other name.wav"
    copy.write_bytes(WAV.read_bytes())
    assert sha256_file(copy) == sha256_file(WAV)
