"""Sanity measures of one transcript against the voiced audio found before transcription."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Hole", "voiced_holes", "empty_segments", "MAX_VOICED_GAP_S"]

# Measured on the three English fixtures (tiny.en), the longest voiced stretch between two words
# is under 1 s; a window Whisper drops loses up to 30 s. 10 s leaves room for mumbles and music.
MAX_VOICED_GAP_S = 10.0


@dataclass(frozen=True)
class Hole:
    """A stretch between two words (or a file end) that holds too much voiced audio."""

    start: float
    end: float
    voiced_s: float


def _merged(regions: Iterable[tuple[float, float]]) -> np.ndarray:
    spans = sorted((float(s), float(e)) for s, e in regions if e > s)
    merged: list[list[float]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return np.array(merged, dtype=float).reshape(-1, 2)


def voiced_holes(
    regions: Iterable[tuple[float, float]], words: Iterable[tuple[float, float]], max_voiced_s: float = MAX_VOICED_GAP_S
) -> list[Hole]:
    """Stretches without a word that hold more than `max_voiced_s` seconds of voiced audio.

    Silence between words does not count, so long pauses are no hole; speech the model dropped is.

    Args:
      regions: Voiced regions in seconds (the `chunks` asset's VAD regions).
      words: (start, end) of every recognised word.
      max_voiced_s: Most voiced seconds allowed between two consecutive words.

    Returns:
      Each hole, clipped to the voiced audio inside it, in time order.
    """
    voiced = _merged(regions)
    if not len(voiced):
        return []
    starts, ends = voiced[:, 0], voiced[:, 1]
    before = np.concatenate([[0.0], np.cumsum(ends - starts)])  # voiced seconds before region i

    def voiced_until(t: float) -> float:
        i = int(np.searchsorted(starts, t, side="right"))  # regions starting at or before t
        if i == 0:
            return 0.0
        return float(before[i - 1] + min(t, ends[i - 1]) - starts[i - 1])

    gaps: list[tuple[float, float]] = []
    reached = -np.inf
    for start, end in sorted((float(s), float(e)) for s, e in words):
        if start > reached:
            gaps.append((reached, start))
        reached = max(reached, end)
    gaps.append((reached, np.inf))
    holes = []
    for a, b in gaps:
        a, b = max(a, starts[0]), min(b, ends[-1])
        amount = voiced_until(b) - voiced_until(a) if b > a else 0.0
        if amount > max_voiced_s:
            first = int(np.searchsorted(ends, a, side="right"))  # first region ending after a
            last = int(np.searchsorted(starts, b, side="left")) - 1  # last region starting before b
            holes.append(Hole(max(a, starts[first]), min(b, ends[last]), round(amount, 2)))
    return holes


def empty_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments a reader would see as nothing: blank text."""
    if segments.empty:
        return segments
    return segments[segments["text"].fillna("").astype(str).str.strip() == ""]
