"""Diarization metrics for the benchmarks: DER (pyannote.metrics) and word speaker accuracy.

Turns may be given as `fi_diarization.records.Turn`, as dicts with ``start``/``end``/
``speaker`` (the ``.truth.json`` segments) or as ``(start, end, speaker)`` tuples.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["der", "word_speaker_accuracy", "turns_from_rttm"]


def _triple(item: Any) -> tuple[float, float, str]:
    if isinstance(item, dict):
        return float(item["start"]), float(item["end"]), str(item["speaker"])
    if isinstance(item, (tuple, list)):
        start, end, speaker = item
        return float(start), float(end), str(speaker)
    return float(item.start), float(item.end), str(item.speaker)


def _annotation(turns: Iterable[Any]):
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for i, (start, end, speaker) in enumerate(map(_triple, turns)):
        if end > start:
            annotation[Segment(start, end), i] = speaker
    return annotation


def der(
    reference_turns: Iterable[Any],
    hypothesis_turns: Iterable[Any],
    collar: float = 0.25,
    uem: tuple[float, float] | None = None,
    skip_overlap: bool = False,
) -> float:
    """Diarization error rate (missed + false alarm + confusion) / reference speech.

    Args:
        reference_turns: Ground-truth turns.
        hypothesis_turns: System turns; labels need not match (optimal mapping is used).
        collar: Forgiveness on *each side* of every reference boundary, in seconds (NIST
            style). pyannote's ``collar`` is the total width centred on the boundary
            (``pyannote.metrics.utils.UEMSupportMixin.extrude`` removes
            ``[t - collar/2, t + collar/2]``), so it is given ``2 * collar``.
        uem: Evaluated span in seconds; defaults to the extent of both annotations.
        skip_overlap: Leave out stretches where the reference has two speakers at once
            (a one-speaker-at-a-time system cannot get them right).

    Returns:
        DER as a fraction (0.05 is 5 %).
    """
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference, hypothesis = _annotation(reference_turns), _annotation(hypothesis_turns)
    if uem is None:
        extent = reference.get_timeline().union(hypothesis.get_timeline()).extent()
        uem = (extent.start, extent.end)
    metric = DiarizationErrorRate(collar=2 * collar, skip_overlap=skip_overlap)
    return float(metric(reference, hypothesis, uem=Timeline([Segment(*uem)])))


def word_speaker_accuracy(truth_segments: Iterable[Any], hypothesis_words: Iterable[Any]) -> float:
    """Share of words attributed to the right speaker under the best speaker mapping.

    A word's truth speaker is that of the truth segment containing its midpoint (the nearest
    segment when the midpoint falls in a gap). Hypothesis speakers are mapped one-to-one onto
    truth speakers so as to maximise the matches (Hungarian assignment); words of an unmapped
    hypothesis speaker count as wrong.

    Args:
        truth_segments: Truth segments (dicts or objects with ``start``, ``end``, ``speaker``).
        hypothesis_words: ``(speaker, word)`` pairs where ``word`` has ``start`` and ``end``
            (e.g. ``[(spk, w) for spk, seg in assign_speakers(...) for w in seg.words]``),
            or dicts / objects with ``start``, ``end``, ``speaker``.

    Returns:
        Accuracy in ``[0, 1]``; 1.0 when there are no words.
    """
    from scipy.optimize import linear_sum_assignment

    truth = sorted(map(_triple, truth_segments))
    if not truth:
        raise ValueError("no truth segments")
    pairs = []
    for item in hypothesis_words:
        if isinstance(item, (tuple, list)) and len(item) == 2:
            speaker, word = item
            start, end = (word["start"], word["end"]) if isinstance(word, dict) else (word.start, word.end)
            pairs.append((str(speaker), (float(start) + float(end)) / 2))
        else:
            start, end, speaker = _triple(item)
            pairs.append((speaker, (start + end) / 2))
    if not pairs:
        return 1.0

    def truth_speaker(t: float) -> str:
        gaps = [max(s - t, t - e, 0.0) for s, e, _ in truth]
        return truth[int(np.argmin(gaps))][2]

    true_names = sorted({s for _, _, s in truth})
    hyp_names = sorted({s for s, _ in pairs})
    counts = np.zeros((len(hyp_names), len(true_names)))
    for speaker, mid in pairs:
        counts[hyp_names.index(speaker), true_names.index(truth_speaker(mid))] += 1
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(pairs))


def turns_from_rttm(path: str) -> list[tuple[float, float, str]]:
    """Read ``SPEAKER`` lines of an RTTM file as ``(start, end, speaker)`` tuples."""
    turns = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 8 and fields[0] == "SPEAKER":
                start, duration = float(fields[3]), float(fields[4])
                turns.append((start, start + duration, fields[7]))
    return turns
