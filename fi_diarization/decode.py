"""Decoded 16 kHz mono audio and its voiced regions, shared by the stages that need samples."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

__all__ = ["SAMPLE_RATE", "load_audio", "voiced_regions"]

SAMPLE_RATE = 16000
_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()
_LOCK = threading.Lock()
_KEEP = 2


def load_audio(path: Path) -> np.ndarray:
    """Decode a whole file to float32 mono at 16 kHz, reusing the last few decodes.

    The in-process executor runs every stage of a partition in one process, so the
    chunk, transcription and speaker stages share one decode.
    """
    path = Path(path)
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    from faster_whisper import decode_audio

    audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    with _LOCK:
        _CACHE[key] = audio
        while len(_CACHE) > _KEEP:
            _CACHE.popitem(last=False)
    return audio


def voiced_regions(
    audio: np.ndarray, *, min_silence_ms: int, speech_pad_ms: int, max_speech_s: float = float("inf")
) -> list[tuple[float, float]]:
    """Speech regions in seconds from faster-whisper's Silero VAD.

    Args:
      audio: Mono float32 samples at 16 kHz.
      min_silence_ms: Shortest silence that separates two regions.
      speech_pad_ms: Padding added on both sides of each region.
      max_speech_s: Longer regions are split, at a silence where there is one.

    Returns:
      `(start, end)` pairs in time order.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        min_silence_duration_ms=min_silence_ms, speech_pad_ms=speech_pad_ms, max_speech_duration_s=max_speech_s
    )
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in get_speech_timestamps(audio, options)]
