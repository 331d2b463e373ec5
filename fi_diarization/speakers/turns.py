"""Acoustic speaker turns: smoothed embeddings clustered, a speaker track, a speaker per word."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..audio.samples import VadSettings, load_samples, voiced_regions
from ..blas import one_blas_thread
from ..records import Segment, Turn, Word
from ..speech.models import usable_cores
from . import ecapa
from .clustering import (
    SEPARATION_THRESHOLD,
    CountEstimate,
    closest_separation,
    cluster_speakers,
    merge_short_clusters,
    relabel_by_first_appearance,
)
from .embeddings import WINDOW_S, embed_cuts, embed_windows, release_encoders, voiced_gain

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

_log = logging.getLogger(__name__)

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
_SMOOTH = 1  # neighbours on each side averaged into a window before clustering


def _smooth_embeddings(embeddings: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Average each window with its overlapping neighbours (same region) to steady it."""
    out = np.empty_like(embeddings)
    for i in range(len(embeddings)):
        lo, hi = max(0, i - _SMOOTH), min(len(embeddings), i + _SMOOTH + 1)
        near = [j for j in range(lo, hi) if spans[j, 0] < spans[i, 1] and spans[i, 0] < spans[j, 1]]
        mean = embeddings[near].mean(axis=0)
        out[i] = mean / np.linalg.norm(mean)
    return out


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


@dataclasses.dataclass
class Windows:
    """Voiced regions with the embeddings of the windows laid over them."""

    regions: list[tuple[float, float]]
    embeddings: np.ndarray
    spans: np.ndarray


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


def _cluster(
    embeddings: np.ndarray,
    spans: np.ndarray,
    bounds: tuple[int | None, int, int],
    probe: Callable[[list[tuple[float, float]]], np.ndarray] | None,
    threshold: float,
) -> tuple[np.ndarray, CountEstimate]:
    """Labels per window and the count estimate, with short-window clusters checked when `probe` embeds cuts."""
    num_speakers, min_speakers, max_speakers = bounds
    smoothed = _smooth_embeddings(embeddings, spans)
    lengths = spans[:, 1] - spans[:, 0]
    full = lengths >= WINDOW_S - 1e-3  # the others were zero-padded to a window (resemblyzer)
    labels, estimate = cluster_speakers(
        embeddings, num_speakers, min_speakers, max_speakers, smoothed=smoothed, full=full, threshold=threshold
    )
    if num_speakers is None and probe is not None and estimate.count > 1:

        def cut(windows: np.ndarray, seconds: np.ndarray) -> np.ndarray:
            return probe([(spans[w, 0], spans[w, 0] + t) for w, t in zip(windows, seconds)])

        labels, estimate = merge_short_clusters(
            embeddings, smoothed, labels, lengths, full, cut, estimate, min_speakers, threshold
        )
    return labels, estimate


def _cut_embedder(audio: np.ndarray, regions: list[tuple[float, float]], threads: int | None) -> Callable:
    """resemblyzer's embeddings of cuts of `audio` at the file's voiced level (measured at the first cut)."""
    gain = functools.cache(lambda: voiced_gain(audio, regions))
    return lambda cuts: embed_cuts(audio, cuts, gain(), threads)


def _fringe_by_ecapa(audio: np.ndarray, fringe: Windows | None) -> Windows | None:
    """The fringe windows embedded by ECAPA, to join the voices ECAPA's windows found."""
    if fringe is None or not len(fringe.spans):
        return fringe
    return Windows(fringe.regions, ecapa.embed_spans(audio, fringe.spans), fringe.spans)


def _listen_again(
    audio: np.ndarray,
    spans: np.ndarray,
    bounds: tuple[int | None, int, int],
    fringe: Windows | None,
    first: CountEstimate,
) -> tuple[np.ndarray, np.ndarray, CountEstimate, Windows | None]:
    """The same windows heard by ECAPA (`ecapa.py`), whose labels and count replace an unsure estimate's.

    On the tuning set resemblyzer's sure counts were all right (15 of 15) and its unsure ones
    right on 5 of 9; ECAPA's count on those 9 was right on 8. When both hear the same count the
    lower confidence stands: the one such miss there (a voice heard almost only in backchannels,
    which neither encoder hears in so little audio) stays unsure, so the LLM's count and the
    stderr hint still reach it.
    """
    embeddings = ecapa.embed_spans(audio, spans)
    labels, second = _cluster(
        embeddings, spans, bounds, lambda cuts: ecapa.embed_spans(audio, cuts), ecapa.SEPARATION_THRESHOLD
    )
    second = dataclasses.replace(second, encoder="ecapa")
    if second.count == first.count and first.confidence < second.confidence:
        second = dataclasses.replace(second, confidence=first.confidence, alternative=first.alternative)
    return embeddings, labels, second, _fringe_by_ecapa(audio, fringe)


def _given_again(
    audio: np.ndarray,
    spans: np.ndarray,
    bounds: tuple[int | None, int, int],
    fringe: Windows | None,
) -> tuple[np.ndarray, np.ndarray, CountEstimate, Windows | None] | None:
    """With the count given, ECAPA's clusters, if ECAPA hears them as that many voices (else None).

    Asked when resemblyzer, left to count alone, would be unsure. On the tuning files that held 5
    pairs: ECAPA's two clusters stood apart on 4 (separation 1.85-3.38, threshold 1.7) and lowered
    DER on each (48.0 -> 1.8 %, 18.0 -> 9.9 %, 8.2 -> 5.3 %, 5.5 -> 2.7 %); on the fifth, a voice
    heard almost only in backchannels, ECAPA split the other voice instead (1.30, DER 6.0 -> 50 %),
    and resemblyzer's clusters stay.
    """
    heard = ecapa.embed_spans(audio, spans)
    labels, given = _cluster(heard, spans, bounds, None, ecapa.SEPARATION_THRESHOLD)
    full = spans[:, 1] - spans[:, 0] >= WINDOW_S - 1e-3
    apart = closest_separation(heard, _smooth_embeddings(heard, spans), labels, full)
    if apart < ecapa.SEPARATION_THRESHOLD:
        return None
    given = dataclasses.replace(given, separation=apart, encoder="ecapa")
    return heard, labels, given, _fringe_by_ecapa(audio, fringe)


def _hear_again(
    audio: np.ndarray,
    embeddings: np.ndarray,
    spans: np.ndarray,
    bounds: tuple[int | None, int, int],
    fringe: Windows | None,
    labels: np.ndarray,
    estimate: CountEstimate,
    probe: Callable | None,
) -> tuple[np.ndarray, np.ndarray, CountEstimate, Windows | None] | None:
    """The windows, labels, estimate and fringe after ECAPA heard what resemblyzer was unsure of (None: unchanged).

    Files of up to `ecapa.MAX_WINDOWS` windows are heard whole; a longer file's unsure count is
    checked on that many windows spread over it (`_count_again`).
    """
    num_speakers, min_speakers, max_speakers = bounds
    whole = len(spans) + (0 if fringe is None else len(fringe.spans)) <= ecapa.MAX_WINDOWS
    if num_speakers is None:
        if not estimate.unsure:
            return None
        if whole:
            return _listen_again(audio, spans, bounds, fringe, estimate)
        return _count_again(audio, embeddings, spans, bounds, fringe, labels, estimate)
    alone = (None, min_speakers, max(max_speakers, num_speakers))  # how sure resemblyzer is, counting alone
    if whole and num_speakers > 1 and _cluster(embeddings, spans, alone, probe, SEPARATION_THRESHOLD)[1].unsure:
        return _given_again(audio, spans, bounds, fringe)
    return None


def _count_again(
    audio: np.ndarray,
    embeddings: np.ndarray,
    spans: np.ndarray,
    bounds: tuple[int | None, int, int],
    fringe: Windows | None,
    labels: np.ndarray,
    first: CountEstimate,
) -> tuple[np.ndarray, np.ndarray, CountEstimate, Windows | None] | None:
    """A long file: ECAPA counts on `ecapa.MAX_WINDOWS` windows spread over it; resemblyzer's are clustered for that.

    Embedding every window would cost ~80 ms each (a 20-minute file ~2 minutes more), so ECAPA
    decides the count only, and only upwards: the turns are resemblyzer's clusters for ECAPA's
    higher count. A lower one is not taken: on the tuning files, with the sample forced down to 30
    windows, ECAPA raised two wrong counts of one to the right two, and lowered one right count of
    two to one, the worst error. The same count from both keeps the lower confidence.
    """
    some = np.unique(np.linspace(0, len(spans) - 1, ecapa.MAX_WINDOWS).astype(int))
    _, _, second, _ = _listen_again(audio, spans[some], bounds, None, first)
    if second.count < first.count:
        return None
    if second.count > first.count:
        given = (second.count, second.count, second.count)
        labels = _cluster(embeddings, spans, given, None, SEPARATION_THRESHOLD)[0]
    return embeddings, labels, second, fringe


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
    is unsure a second encoder listens again (`_hear_again`).
    """
    one_blas_thread()  # the clustering's eigensolver: the same bits for every caller (the bed's too)
    if len(embeddings) == 0:
        return [], CountEstimate(0, "given" if num_speakers else "estimated", 1.0)
    bounds = (num_speakers, min_speakers, max_speakers)
    probe = None if audio is None else _cut_embedder(audio, regions, threads)
    labels, estimate = _cluster(embeddings, spans, bounds, probe, SEPARATION_THRESHOLD)
    if audio is not None and ecapa.available():
        try:
            heard = _hear_again(audio, embeddings, spans, bounds, fringe, labels, estimate, probe)
        except ecapa.Unavailable as exc:  # an optional listener: the first one's answer stands
            _log.warning("%s; the speaker count stays as resemblyzer heard it", exc)
            heard = None
        if heard is not None:
            embeddings, labels, estimate, fringe = heard
    if fringe is not None:
        # Frames of a fringe region without a window of their own take the nearest window's speaker.
        regions = _union(regions, fringe.regions)
        if len(fringe.embeddings):
            spans, labels = _join_fringe(embeddings, spans, labels, fringe)
    runs = _merge_runs(_smooth_track(regions, spans, labels, int(labels.max()) + 1))
    names = relabel_by_first_appearance([k for _, _, k in runs])
    turns = [Turn(round(a, 3), round(b, 3), name) for (a, b, _), name in zip(runs, names)]
    # Flicker that the track smoothing absorbed can leave fewer speakers than clusters.
    found = len(set(names))
    if found != estimate.count:
        estimate = dataclasses.replace(estimate, count=found)
    return turns, estimate


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
