"""Acoustic speaker turns: smoothed embeddings clustered, a speaker track, a speaker per word."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..audio.samples import VadSettings, load_samples, voiced_regions
from ..blas import one_blas_thread
from ..records import Segment, Turn, Word
from ..speech.models import usable_cores
from . import ecapa
from .clustering import SEPARATION_THRESHOLD, CountEstimate, margin_confidence, relabel_by_first_appearance
from .embeddings import embed_windows, release_encoders
from .listeners import (
    SAME_VOICE,
    Windows,
    cluster_windows,
    doubt_one_voice,
    farther_apart,
    hear_again,
    join_one_voice,
    resemblyzer_cuts,
)
from .resegment import mfcc, redraw_by_pitch, resegment

__all__ = [
    "SPEAKER_VAD",
    "FRINGE_VAD",
    "Windows",
    "fringe_windows",
    "speaker_turns",
    "speaker_turns_of",
    "turns_from_windows",
    "assign_speakers",
]

# Tighter than the chunk plan's VAD: a turn change must not hide inside one padded region.
SPEAKER_VAD = VadSettings(min_silence_ms=300, speech_pad_ms=100)
# Speech that only a lower threshold finds (noisy, telephone-band) is given a speaker but never
# decides who the speakers are: it joins the nearest voice found on `SPEAKER_VAD`'s speech.
# Clustering at 0.3 itself broke counts (a short-turn pair became a sure single speaker; at
# 0.25 a noisy monologue became two); joining at 0.3 lowered DER or kept it on every tune file
# of the bed and changes no count (benchmarks/RESULTS.md).
FRINGE_VAD = dataclasses.replace(SPEAKER_VAD, threshold=0.3)
_FRAME_S = 0.05  # resolution of the smoothed speaker track
_MIN_TURN_S = 0.5
_MERGE_GAP_S = 0.5


def _smooth_track(
    regions: list[tuple[float, float]], spans: np.ndarray, labels: np.ndarray, n_labels: int
) -> list[tuple[float, float, int]]:
    """Label every frame of the voiced regions by weighted votes of the windows covering it."""
    runs = []
    centres = (spans[:, 0] + spans[:, 1]) / 2
    for start, end in regions:
        if end <= start:
            continue
        n = max(1, int(round((end - start) / _FRAME_S)))
        t = start + (np.arange(n) + 0.5) * (end - start) / n
        votes = np.zeros((n, n_labels))
        inside = np.flatnonzero((spans[:, 1] > start) & (spans[:, 0] < end))
        for w in inside:
            a, b = spans[w]
            half = max((b - a) / 2, 1e-3)
            # Triangular weight: a window speaks most for the middle of what it heard.
            weight = np.clip(1 - np.abs(t - centres[w]) / half, 0, None)
            votes[:, labels[w]] += weight
        track = votes.argmax(axis=1)
        unvoted = votes.max(axis=1) <= 0
        if unvoted.any():
            nearest = np.abs(t[unvoted, None] - centres[None, :]).argmin(axis=1)
            track[unvoted] = labels[nearest]
        edges = np.linspace(start, end, n + 1)
        cuts = np.flatnonzero(np.diff(track)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, n]):
            runs.append((float(edges[a]), float(edges[b]), int(track[a])))
    return runs


def _merge_runs(runs: list[tuple[float, float, int]]) -> list[tuple[float, float, int]]:
    runs = sorted(runs)
    while True:
        # A short run inside a region is clustering flicker: it joins its longer neighbour.
        for i, (a, b, k) in enumerate(runs):
            near = [r for r in runs[max(0, i - 1) : i] + runs[i + 1 : i + 2] if r[2] != k and (r[1] == a or r[0] == b)]
            if b - a < _MIN_TURN_S and near:
                runs[i] = (a, b, max(near, key=lambda r: r[1] - r[0])[2])
                break
        else:
            break
        runs = _join_runs(runs, 0.0)
    # Pauses inside one speaker's turn belong to the turn.
    return _join_runs(runs, _MERGE_GAP_S)


def _join_runs(runs: list[tuple[float, float, int]], max_gap: float) -> list[tuple[float, float, int]]:
    joined: list[tuple[float, float, int]] = []
    for a, b, k in runs:
        if joined and joined[-1][2] == k and a - joined[-1][1] <= max_gap + 1e-9:
            joined[-1] = (joined[-1][0], b, k)
        else:
            joined.append((a, b, k))
    return joined


def fringe_windows(
    audio: np.ndarray, regions: list[tuple[float, float]], threads: int | None = None, fringe: list | None = None
) -> Windows:
    """The speech `FRINGE_VAD` finds (`fringe`, else found here), with windows for what `regions` do not hold."""
    fringe = voiced_regions(audio, FRINGE_VAD) if fringe is None else fringe
    return Windows(fringe, *embed_windows(audio, fringe, threads=threads, skip=regions))


def _both_passes(samples: np.ndarray, threads: int | None) -> tuple[list, list]:
    """The `SPEAKER_VAD` and `FRINGE_VAD` regions; side by side when this stage may use two cores.

    faster-whisper runs Silero on one thread: on a 60-minute file the second pass in turn took the
    speaker stage from 38 to 50 s, side by side to 39 s (measured). Beside Whisper (`threads=1`)
    they run in turn, to leave Whisper its cores.
    """
    if (threads or usable_cores()) < 2:
        return voiced_regions(samples, SPEAKER_VAD), voiced_regions(samples, FRINGE_VAD)
    with ThreadPoolExecutor(1) as pool:
        fringe = pool.submit(voiced_regions, samples, FRINGE_VAD)
        return voiced_regions(samples, SPEAKER_VAD), fringe.result()


def _union(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted([*a, *b]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _join_fringe(embeddings: np.ndarray, spans: np.ndarray, labels: np.ndarray, fringe: Windows):
    """Each fringe window labelled with the nearest speaker (cosine to the centroid), all in time order."""
    centroids = np.stack([embeddings[labels == k].mean(axis=0) for k in range(int(labels.max()) + 1)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    spans = np.concatenate([spans, fringe.spans])
    labels = np.concatenate([labels, (fringe.embeddings @ centroids.T).argmax(axis=1)])
    order = np.argsort(spans[:, 0], kind="stable")
    return spans[order], labels[order]


def speaker_turns(
    audio: np.ndarray,
    regions: list[tuple[float, float]],
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
    threads: int | None = None,
    fringe: list[tuple[float, float]] | None = None,
) -> tuple[list[Turn], CountEstimate]:
    """Find who speaks when in the voiced regions.

    Embedding windows never cross a region boundary, so regions that split at pauses of
    0.3 s or more (Silero ``min_silence_duration_ms=300``) give the sharpest turns; a turn
    change inside a region is placed to within about half a second (windows step 0.5 s).

    Args:
        audio: Mono float32 waveform at 16 kHz (an array or a memory map).
        regions: Voiced spans in seconds.
        num_speakers: Exact number of speakers, when known.
        min_speakers: Lower bound on the estimated count.
        max_speakers: Upper bound on the estimated count.
        threads: The speaker encoder's threads (default: every usable core).
        fringe: Voiced spans a lower threshold adds (`FRINGE_VAD`): they get speakers, not a say in the count.

    Returns:
        Contiguous turns in time order, speakers named ``SPEAKER_00``… by first appearance,
        and how the count was reached.
    """
    one_blas_thread()
    regions = sorted((float(a), float(b)) for a, b in regions if b > a)
    embeddings, spans = embed_windows(audio, regions, threads=threads)
    extra = None if fringe is None else fringe_windows(audio, regions, threads, fringe)
    return turns_from_windows(
        regions, embeddings, spans, num_speakers, min_speakers, max_speakers, fringe=extra, audio=audio, threads=threads
    )


def speaker_turns_of(
    samples_path: str,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
    threads: int | None = None,
) -> tuple[list[Turn], CountEstimate]:
    """`speaker_turns` of a decoded samples file, on its own voice activity (`SPEAKER_VAD`, `FRINGE_VAD`).

    The encoder's memory is released at the end (`release_encoders`): the stage runs once per file.
    """
    samples = load_samples(samples_path)
    try:
        regions, fringe = _both_passes(samples, threads)
        return speaker_turns(samples, regions, num_speakers, min_speakers, max_speakers, threads=threads, fringe=fringe)
    finally:
        release_encoders()
        ecapa.release()


def turns_from_windows(
    regions: list[tuple[float, float]],
    embeddings: np.ndarray,
    spans: np.ndarray,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
    fringe: Windows | None = None,
    audio: np.ndarray | None = None,
    threads: int | None = None,
) -> tuple[list[Turn], CountEstimate]:
    """`speaker_turns` from window embeddings already computed (`embed_windows`).

    The windows of `fringe` (`fringe_windows`) take no part in the clustering: each joins the
    nearest speaker found, and the turns cover their regions too. With the `audio` the windows
    came from, an estimated count is checked for clusters of short windows
    (`merge_short_clusters`), whose probes the encoder embeds on `threads`, and where resemblyzer
    is unsure a second encoder listens again (`listeners.hear_again`); the turns are then redrawn
    frame by frame (`resegment.resegment`), or from the file's pitch groups where ECAPA hears that
    drawing's two voices farther apart (`resegment.redraw_by_pitch`, `listeners.farther_apart`).
    """
    one_blas_thread()  # the clustering's eigensolver: the same bits for every caller (the bed's too)
    if len(embeddings) == 0:
        return [], CountEstimate(0, "given" if num_speakers else "estimated", 1.0)
    bounds = (num_speakers, min_speakers, max_speakers)
    probe = None if audio is None else resemblyzer_cuts(audio, regions, threads)
    labels, estimate = cluster_windows(embeddings, spans, bounds, probe, SEPARATION_THRESHOLD)
    heard = None
    if audio is not None:
        estimate = doubt_one_voice(audio, regions, estimate, max_speakers)
        heard = hear_again(audio, embeddings, spans, bounds, fringe, labels, estimate, probe, threads)
    if heard is not None:
        doubted = estimate.pitch_dip
        embeddings, spans, labels, estimate, fringe = heard
        estimate = dataclasses.replace(estimate, pitch_dip=doubted)  # the doubt's evidence stays with the answer
    voiced = regions
    if fringe is not None:
        # Frames of a fringe region without a window of their own take the nearest window's speaker.
        regions = _union(regions, fringe.regions)
        if len(fringe.embeddings):
            spans, labels = _join_fringe(embeddings, spans, labels, fringe)
    runs = _merge_runs(_smooth_track(regions, spans, labels, int(labels.max()) + 1))
    if audio is not None and len({k for _, _, k in runs}) > 1:
        # Frame by frame, each voice's own model redraws the turns the windows placed (`resegment.py`);
        # where the pitch groups draw two voices otherwise, ECAPA judges which drawing stands.
        features = mfcc(audio)  # once for both drawings; one voice needs none (nothing to redraw)
        drawn = _merge_runs(resegment(audio, runs, features))
        seeded = redraw_by_pitch(audio, runs, voiced, features)
        seeded = None if seeded is None else _merge_runs(seeded)
        runs = seeded if seeded is not None and farther_apart(audio, seeded, drawn) else drawn
        if num_speakers is None:
            runs, estimate = _one_voice_joined(audio, runs, estimate, min_speakers)
    names = relabel_by_first_appearance([k for _, _, k in runs])
    turns = [Turn(round(a, 3), round(b, 3), name) for (a, b, _), name in zip(runs, names)]
    # Flicker that the track smoothing absorbed can leave fewer speakers than clusters.
    found = len(set(names))
    if found != estimate.count:
        estimate = dataclasses.replace(estimate, count=found)
    return turns, estimate


def _one_voice_joined(
    audio: np.ndarray, runs: list[tuple[float, float, int]], estimate: CountEstimate, min_speakers: int
) -> tuple[list[tuple[float, float, int]], CountEstimate]:
    """The runs and estimate once voices ECAPA hears as one are joined (`listeners.join_one_voice`); as they were if none."""
    before = len({k for _, _, k in runs})
    runs, cosine = join_one_voice(audio, runs, min_speakers, estimate.confidence)
    if cosine is None:
        return runs, estimate
    runs = _join_runs(runs, _MERGE_GAP_S)
    confidence = margin_confidence(cosine, SAME_VOICE)
    joined = dataclasses.replace(estimate, confidence=confidence, alternative=before, encoder="ecapa", joined=cosine)
    return runs, joined if joined.unsure else dataclasses.replace(joined, alternative=None)


def _overlap(a0: float, a1: float, turn: Turn) -> float:
    return min(a1, turn.end) - max(a0, turn.start)


def _speaker_at(start: float, end: float, turns: list[Turn]) -> str:
    # A negative overlap is minus the gap, so without any overlap this picks the nearest turn.
    return max(turns, key=lambda t: _overlap(start, end, t)).speaker


def _join(words: list[Word]) -> str:
    # faster-whisper words carry their own leading space; hand-made ones may not.
    sep = "" if any(w.word[:1].isspace() for w in words) else " "
    return sep.join(w.word for w in words).strip()


def assign_speakers(segments: list[Segment], turns: list[Turn]) -> list[tuple[str, Segment]]:
    """Attribute transcript segments to speaker turns, word by word.

    Each word goes to the turn overlapping it most (the nearest turn if none overlaps); a
    segment is split where its words change speaker. A segment without words is attributed
    by its own span. With no turns at all everything is ``SPEAKER_00``.

    Args:
        segments: Transcript segments with word timings, absolute seconds.
        turns: Speaker turns from `speaker_turns`.

    Returns:
        ``(speaker, segment)`` pairs in time order; split pieces get their text rebuilt
        from their words.
    """
    out: list[tuple[str, Segment]] = []
    for seg in segments:
        if not turns:
            out.append(("SPEAKER_00", seg))
            continue
        if not seg.words:
            out.append((_speaker_at(seg.start, seg.end, turns), seg))
            continue
        groups: list[tuple[str, list[Word]]] = []
        for word in seg.words:
            speaker = _speaker_at(word.start, word.end, turns)
            if groups and groups[-1][0] == speaker:
                groups[-1][1].append(word)
            else:
                groups.append((speaker, [word]))
        if len(groups) == 1:
            out.append((groups[0][0], seg))
            continue
        for i, (speaker, words) in enumerate(groups):
            start = seg.start if i == 0 else words[0].start
            end = seg.end if i == len(groups) - 1 else words[-1].end
            out.append((speaker, Segment(start, end, _join(words), list(words))))
    out.sort(key=lambda pair: (pair[1].start, pair[1].end))
    return out
