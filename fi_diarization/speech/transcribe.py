"""Batched Whisper over chunks of voiced regions, with times mapped back to the original audio."""

from __future__ import annotations

import bisect

import numpy as np

from ..audio.samples import SAMPLE_RATE, window
from ..records import Segment, Word

__all__ = ["Chunk", "chunk_audio", "detect_language", "transcribe_chunks"]

_LANGUAGE_PROBE_S = 30.0

Chunk = tuple[int, list[tuple[float, float]]]  # chunk index, its voiced regions in seconds


def _bounds(regions: list[tuple[float, float]]) -> list[tuple[int, int]]:
    return [(int(round(a * SAMPLE_RATE)), int(round(b * SAMPLE_RATE))) for a, b in regions]


def chunk_audio(samples: np.ndarray, regions: list[tuple[float, float]]) -> np.ndarray:
    """A chunk's regions laid end to end, read from (possibly memory-mapped) samples."""
    pieces = [window(samples, a, b).astype(np.float32, copy=False) for a, b in _bounds(regions)]
    return np.concatenate(pieces or [np.zeros(0, np.float32)])


class _TimeMap:
    """Seconds in a chunk's concatenated audio to seconds in the original (cf. SpeechTimestampsMap)."""

    def __init__(self, regions: list[tuple[float, float]]):
        bounds = _bounds(regions)
        self.starts = [a / SAMPLE_RATE for a, _ in bounds]
        self.lengths = [(b - a) / SAMPLE_RATE for a, b in bounds]
        self.offsets = list(np.cumsum([0.0, *self.lengths[:-1]]))

    def region(self, t: float, is_end: bool = False) -> int:
        i = bisect.bisect_left(self.offsets, t) if is_end else bisect.bisect_right(self.offsets, t)
        return max(0, i - 1)

    def original(self, t: float, region: int | None = None, is_end: bool = False) -> float:
        i = self.region(t, is_end) if region is None else region
        # A word heard across the join of two regions stays inside the one it is mostly in.
        inside = min(max(t - self.offsets[i], 0.0), self.lengths[i])
        return round(float(self.starts[i] + inside), 3)


def _is_hallucination(segment) -> bool:
    # Whisper's own silence rule: probably no speech and low confidence in the text.
    return segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0


def detect_language(loaded, samples: np.ndarray, chunks: list[Chunk], requested: str) -> str:
    """The language to transcribe in: the requested one, `en` for an English-only model,
    else what the model hears in the first 30 s of speech (`und` with no speech)."""
    if requested != "auto":
        return requested if loaded.multilingual else "en"
    if not loaded.multilingual:
        return "en"
    if not chunks:
        return "und"
    regions: list[tuple[float, float]] = []
    for _, members in chunks:
        regions.extend(members)
        if sum(b - a for a, b in regions) >= _LANGUAGE_PROBE_S:
            break
    language, _probability, _ = loaded.model.detect_language(audio=chunk_audio(samples, regions))
    return language


def transcribe_chunks(loaded, samples: np.ndarray, chunks: list[Chunk], language: str) -> dict[int, list[Segment]]:
    """Transcribe chunks in one batched call; segments and words in original seconds.

    Each chunk's regions are laid end to end (as faster-whisper's own VAD path does) and the
    chunks are given to `BatchedInferencePipeline` as clips of that buffer; a segment keeps
    the region its start falls in, each word the region its middle falls in.
    """
    found: dict[int, list[Segment]] = {index: [] for index, _ in chunks}
    pieces = [chunk_audio(samples, members) for _, members in chunks]
    if not any(len(p) for p in pieces):
        return found
    buffer = np.concatenate(pieces)
    edges = np.cumsum([0, *[len(p) for p in pieces]]) / SAMPLE_RATE
    clips = [{"start": float(a), "end": float(b)} for a, b in zip(edges[:-1], edges[1:]) if b > a]
    live = [(index, members, float(a)) for (index, members), a, b in zip(chunks, edges[:-1], edges[1:]) if b > a]
    segments, _ = loaded.pipeline.transcribe(
        buffer,
        language=None if language == "und" else language,
        clip_timestamps=clips,
        batch_size=len(clips),
        word_timestamps=True,
    )
    clip_starts = [start for _, _, start in live]
    maps = [_TimeMap(members) for _, members, _ in live]
    for seg in segments:
        if _is_hallucination(seg):
            continue
        # Segments come offset by their clip's start in the buffer.
        c = max(0, bisect.bisect_right(clip_starts, seg.start + 1e-3) - 1)
        index, offset, tmap = live[c][0], clip_starts[c], maps[c]
        words = []
        for w in seg.words or []:
            region = tmap.region((w.start + w.end) / 2 - offset)
            words.append(
                Word(tmap.original(w.start - offset, region), tmap.original(w.end - offset, region), w.word, float(w.probability))
            )
        start = tmap.original(seg.start - offset)
        end = max(start, tmap.original(seg.end - offset, is_end=True))
        found[index].append(Segment(start, end, seg.text.strip(), words))
    return found
