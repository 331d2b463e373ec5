"""Fuzzing of the probe and intake entry point with mutated real files (run by test_fuzz.py).

Not collected on its own (no `test_` prefix): test_fuzz.py runs it in a child process, so that
an input that hangs the probe fails the test at a hard time bound instead of stalling the suite.
`FI_FUZZ_HOME` is the data root (an input that hangs stays in its inbox), `FI_FUZZ_EXAMPLES`
the number of inputs.
"""

import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fi_diarization.audio.intake import accept, quarantine, rejection
from fi_diarization.audio.probe import RejectedAudio, sha256_file
from fi_diarization.settings import get_settings
from fi_diarization_tests.conftest import FIXTURES
from fi_diarization_tests.media import clip, encode

HOME = Path(os.environ.get("FI_FUZZ_HOME") or tempfile.mkdtemp(prefix="fi-fuzz-"))
EXAMPLES = int(os.environ.get("FI_FUZZ_EXAMPLES") or 300)


def _seeds() -> list[bytes]:
    """Two seconds of a real conversation in every container the probe accepts."""
    folder = Path(tempfile.mkdtemp(prefix="fi-fuzz-seeds-"))
    wav = clip(FIXTURES / "consult_2spk.wav", folder / "seed.wav", 1.0, 2.0)
    encoded = [
        encode(wav, folder / "seed.flac", "flac"),
        encode(wav, folder / "seed.ogg", "libopus", "ogg"),
        encode(wav, folder / "seed.mp3", "libmp3lame"),
        encode(wav, folder / "seed.m4a", "aac", "mp4"),
        encode(wav, folder / "seed.webm", "opus", "webm"),
        encode(wav, folder / "seed.aiff", "pcm_s16be", "aiff"),
    ]
    return [path.read_bytes() for path in [wav, *encoded]]


SEEDS = _seeds()
MAGICS = [b"RIFF\x00\x00\x00\x00WAVE", b"RF64", b"fLaC", b"OggS", b"ID3\x04", b"\x1a\x45\xdf\xa3",
          b"\x00\x00\x00\x20ftypM4A ", b"FORM\x00\x00\x00\x00AIFF", b"caff", b"\xff\xfb", b"\xff\xf1", b"#EXTM3U\n"]


@st.composite
def mutated(draw) -> bytes:
    """A real file with one to three mutations: flipped bytes, a cut head or tail, a swapped magic, a splice."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        size = len(data)
        kind = draw(st.sampled_from(["flip", "cut tail", "cut head", "magic", "splice"]))
        if kind == "flip":  # mostly in the headers, where the parsers branch
            for _ in range(draw(st.integers(1, 16))):
                at = draw(st.integers(0, min(size, 4096) - 1) if draw(st.booleans()) else st.integers(0, size - 1))
                data[at] ^= draw(st.integers(1, 255))
        elif kind == "cut tail":
            del data[draw(st.integers(0, size - 1)) :]
        elif kind == "cut head":
            del data[: draw(st.integers(1, min(size, 1024)))]
        elif kind == "magic":
            magic = draw(st.sampled_from(MAGICS))
            data[: len(magic)] = magic
        else:
            other = draw(st.sampled_from(SEEDS))
            data = data[: draw(st.integers(0, size))] + other[draw(st.integers(0, len(other))) :]
    return bytes(data)


# Any name the filesystem allows (no "/" or NUL, at most 255 bytes); a leading "." is the
# inbox's in-progress upload convention and is left to the sensor.
names = st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda n: not n.startswith(".") and len(n.encode()) <= 255
)


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=mutated(), name=names)
def test_intake_accepts_whole_audio_or_rejects_with_one_line(data, name):
    home = dataclasses.replace(get_settings(), home=HOME, max_audio_seconds=60.0, sensor_interval_s=1)
    home.ensure_dirs()
    path = home.inbox / name
    path.write_bytes(data)
    try:
        accepted = accept(home, path, move=True)
    except RejectedAudio as err:
        reason = str(err)
        event(reason.rsplit(": ", 1)[-1].split(" (")[0][:40])
        assert reason and reason.isprintable()  # one line, names escaped
        assert path.read_bytes() == data  # left where it was
        qid = quarantine(home, path, reason)
        assert rejection(home, qid) == reason and not path.exists()
    else:
        event(f"accepted {accepted.info.container}")
        assert not path.exists() and accepted.info.duration_s > 0
        assert sha256_file(accepted.path) == hashlib.sha256(data).hexdigest()
