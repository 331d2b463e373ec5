"""Small media files made on the fly for the bad-input tests (PyAV encoders, no tools)."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def encode(src: Path, dest: Path, codec: str, container: str | None = None, seconds: float | None = None) -> Path:
    """Re-encode the first `seconds` of a 16 kHz mono WAV with `codec`."""
    from faster_whisper import decode_audio

    audio = decode_audio(str(src), sampling_rate=16000)
    if seconds is not None:
        audio = audio[: int(seconds * 16000)]
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    rate = 48000 if codec in {"libopus", "opus"} else (44100 if codec == "libmp3lame" else 16000)
    with av.open(str(dest), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 16000, 0, Fraction(1, 16000)
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return dest


def silent_video(dest: Path, frames: int = 10) -> Path:
    """An MP4 with one video stream and no audio stream."""
    with av.open(str(dest), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            image = np.full((48, 64, 3), i * 20, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return dest


def long_conversation(dest: Path) -> Path:
    """Three fixtures back to back: about 96 s, so several chunks."""
    from fi_diarization_tests.conftest import FIXTURES

    frames = []
    for name in ("consult_2spk.wav", "family_3spk.wav", "ward_4spk.wav"):
        with wave.open(str(FIXTURES / name)) as w:
            frames.append(w.readframes(w.getnframes()))
    with wave.open(str(dest), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(frames))
    return dest


def clip(src: Path, dest: Path, start_s: float, seconds: float) -> Path:
    """`seconds` of a WAV from `start_s`, as its own WAV."""
    with wave.open(str(src)) as w:
        w.setpos(int(start_s * w.getframerate()))
        frames, params = w.readframes(int(seconds * w.getframerate())), w.getparams()
    with wave.open(str(dest), "wb") as out:
        out.setparams(params)
        out.writeframes(frames)
    return dest


def tone(dest: Path, seconds: float, kind: str = "silence", rate: int = 16000) -> Path:
    """A WAV of silence, 50 Hz hum or white noise."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    signal = {
        "silence": np.zeros_like(t),
        "hum": 0.3 * np.sin(2 * np.pi * 50 * t),
        "noise": 0.1 * rng.standard_normal(t.size),
    }[kind]
    with wave.open(str(dest), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(signal, -1, 1) * 32767).astype(np.int16).tobytes())
    return dest
