"""probe: what is refused before decoding, and what is accepted."""

import os
from pathlib import Path

import pytest

from fi_diarization.audio.ids import shown_name
from fi_diarization.audio.probe import RejectedAudio, probe, sha256_file
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


ODD_NAMES = {
    "newline": ("línea\nnueva.wav", "línea\\nnueva.wav"),
    "dash": ("-rf.wav", "-rf.wav"),
    "hidden": (".hidden.wav", ".hidden.wav"),
    "escape sequence": ("a\x1b[31mb.wav", "a\\x1b[31mb.wav"),
    "bidi override": ("x\u202evaw.exe", "x\\u202evaw.exe"),
    "not utf-8": (os.fsdecode(b"caf\xe9.wav"), "caf\\xe9.wav"),
    "backslash": ("a\\b.wav", "a\\\\b.wav"),
}


@pytest.mark.parametrize("case", sorted(ODD_NAMES))
def test_any_name_the_filesystem_allows_is_accepted_and_shown_escaped(tmp_path, case):
    name, shown = ODD_NAMES[case]
    path = tmp_path / name
    path.write_bytes(WAV.read_bytes())
    assert probe(path, max_duration_s=60).duration_s == pytest.approx(29.607, abs=0.01)
    assert shown_name(name) == shown
    # The same name on a file that is not audio: the one-line reason shows it escaped.
    path.write_text("not audio")
    with pytest.raises(RejectedAudio) as err:
        probe(path, max_duration_s=60)
    assert str(err.value) == f"{shown}: not a recognised audio container (wav, flac, mp3, ogg, m4a, webm, aiff)"
    assert str(err.value).isprintable()


def test_longest_name_is_accepted_and_cut_where_shown(tmp_path):
    name = "ñ" * 125 + ".wav"  # 254 bytes: ext4 and tmpfs allow 255
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(RejectedAudio) as err:
        probe(path, max_duration_s=60)
    message = str(err.value)
    assert message.endswith("ñ.wav: empty file") and "…" in message and len(message) < 100


def test_a_name_the_filesystem_refuses_is_one_line(tmp_path):
    with pytest.raises(RejectedAudio) as err:
        probe(tmp_path / ("x" * 300 + ".wav"), max_duration_s=60)
    assert str(err.value).endswith(": file name too long")


def test_cut_ogg_is_truncated_not_a_shorter_whole_file(tmp_path):
    whole = encode(WAV, tmp_path / "whole.ogg", "libopus", "ogg", seconds=20).read_bytes()
    assert probe(tmp_path / "whole.ogg", max_duration_s=60).duration_s == pytest.approx(20, abs=0.1)
    pages = [i for i in range(len(whole)) if whole.startswith(b"OggS", i)]
    # Cut inside a page, and cut exactly between two pages (every page there is whole).
    for cut, reason in ((len(whole) // 2, "the last Ogg page is cut off"),
                        (pages[len(pages) // 2], "ends without its end-of-stream page")):
        (tmp_path / "cut.ogg").write_bytes(whole[:cut])
        with pytest.raises(RejectedAudio, match=f"cut.ogg: truncated: .*{reason}"):
            probe(tmp_path / "cut.ogg", max_duration_s=60)


def test_sha256_is_of_the_bytes(tmp_path):
    copy = tmp_path / "other name.wav"
    copy.write_bytes(WAV.read_bytes())
    assert sha256_file(copy) == sha256_file(WAV)
