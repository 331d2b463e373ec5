"""Speaker clustering: voice embeddings to speaker labels, with the count estimated or given."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .spectral import average_linkage_labels, spectral_labels

__all__ = [
    "CountEstimate",
    "cluster_speakers",
    "closest_separation",
    "margin_confidence",
    "merge_closest",
    "merge_short_clusters",
    "second_opinion",
    "relabel_by_first_appearance",
]

_MIN_SPECTRAL = 6  # fewer windows than this are clustered agglomeratively
_MIN_SELF_SPLIT = 6  # a cluster needs this many windows to say how it differs from itself
# Two clusters of resemblyzer's windows are one voice when their centroids are less than this many
# times as far apart as one voice's own windows would put them by chance (see `_separation`; ECAPA's
# windows have their own, `ecapa.SEPARATION_THRESHOLD`). Measured on the
# human-voice bed's tune files (Festival voices of real people) and the espeak-ng fixtures:
# clusters of one person merged at 0.57-1.71, different people stood apart at 2.48-7.5 (the
# lowest: two of three voices talking over each other; whole-file two-speaker splits >= 4.3).
SEPARATION_THRESHOLD = 2.0
_EXTRA_CLUSTERS = 1  # start above the eigengap's count: its undercount (3 voices as 2) is not undone by merging
_DEFAULT_NOISE = 0.15  # the noise scale when no cluster is big enough to measure it (bed median 0.15)
_MAX_CLUSTERED = 800  # longer files cluster block averages (affinity and eigensolver stay small)
_CONFIDENCE_SCALE = 0.1  # log-ratio margin that makes a decision ~73 % sure
_UNSURE = 0.75  # below this confidence the other count is worth a look
_PROBES = 32  # windows of a voice cut short to compare with a cluster of short windows
# A count that stands only because short windows were merged into a voice: the short windows say
# too little to tell one voice's short phrases from another person's backchannels (on the tune
# files, three such merges were one voice and one was two people), so the acoustics call it a coin
# toss and leave the count to the LLM's reading or the user (`second_opinion`, `--num-speakers`).
_SHORT_MERGE_CONFIDENCE = 0.5
# Two clusters whose windows, laid on the line between their centroids, show no dip between them
# (Hartigan's dip test, p above this) may be one voice cut in two: a long monologue through a noisy
# telephone band is a spread of windows that spectral clustering cuts into parts which the
# separation test then finds "apart" (one woman heard as 3 and 4, sure, on the long tuning files).
# Measured on the tuning files (the pair with the highest p per file decides): resemblyzer's
# one-voice splits 0.99 (three long monologues), its pairs of people up to 0.69 (a man and a woman in
# t3_3spk_en_tel; at 0.5 it was heard again and ECAPA's turns were worse, DER 7.9 -> 16.8 %), so on
# resemblyzer's windows a pair above `_DOUBT_P` only puts the count in doubt and the second listener
# decides; ECAPA's one-voice splits 0.75-0.99, its pairs of people up to 0.27, so ECAPA's clusters
# above `_ONE_VOICE_P` are merged.
_ONE_VOICE_P = 0.5
_DOUBT_P = 0.9
NoDip = Literal["doubt", "merge", "pass"]  # what two clusters with no dip between them do (`cluster_speakers`)


_FIELDS = ("count", "source", "confidence", "alternative", "separation", "encoder", "dip", "pitch_dip", "joined")


@dataclass(frozen=True)
class CountEstimate:
    """How the speaker count was reached, with the evidence."""

    count: int
    source: str  # "given" | "estimated" | "llm"
    confidence: float  # 1.0 when given; else how clear the closest decision was (0.5 = a coin toss)
    alternative: int | None = None  # the count it was unsure against, when unsure
    separation: float | None = None  # the deciding separation ratio (threshold 2.0; ECAPA's 1.7)
    encoder: str = "resemblyzer"  # whose embeddings decided: "ecapa" when the second listener was asked
    dip: float | None = None  # the dip test's p-value of two clusters that may be one voice, if any
    # The dip test's p-value of the regions' pitches, where it put a sure count of one in doubt
    # (`listeners.doubt_one_voice`).
    pitch_dip: float | None = None
    # ECAPA's cosine between two voices found that were joined as one (`listeners.join_one_voice`).
    joined: float | None = None

    @property
    def unsure(self) -> bool:
        return self.confidence < _UNSURE

    @classmethod
    def from_dict(cls, data: dict) -> "CountEstimate":
        return cls(**{k: data[k] for k in _FIELDS if data.get(k) is not None})

    def as_dict(self) -> dict:
        return {
            "count": self.count,
            "source": self.source,
            "confidence": round(self.confidence, 3),
            "alternative": self.alternative,
            "separation": None if self.separation is None else round(self.separation, 3),
            "encoder": self.encoder,
            "dip": None if self.dip is None else round(self.dip, 3),
            "pitch_dip": None if self.pitch_dip is None else round(self.pitch_dip, 3),
            "joined": None if self.joined is None else round(self.joined, 3),
        }


def cluster_speakers(
    embeddings: np.ndarray,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
    *,
    smoothed: np.ndarray | None = None,
    full: np.ndarray | None = None,
    threshold: float = SEPARATION_THRESHOLD,
    no_dip: NoDip = "doubt",
) -> tuple[np.ndarray, CountEstimate]:
    """Cluster window embeddings into speakers, estimating the count unless it is given.

    Spectral clustering (spectralcluster's Turn-to-Diarize configuration, `spectral.py`) on the smoothed
    embeddings proposes one cluster more than its eigengap finds. Then the closest pair of
    clusters is merged while it fails the separation test: the distance between the two
    centroids of the raw embeddings, over the distance that splitting one voice would give
    clusters of those sizes by chance (measured on the clusters themselves, so it adapts to
    the voice family and the recording). A last two-way test decides between one speaker and
    two. The estimate's confidence is how far the closest decision was from the threshold. Last,
    two clusters with no dip between them (Hartigan's dip test) leave the count unsure, or are merged.

    Args:
        embeddings: ``[n, d]`` L2-normalised speaker embeddings (raw windows).
        num_speakers: Exact number of speakers, when known.
        min_speakers: Lower bound on the estimated count.
        max_speakers: Upper bound on the estimated count.
        smoothed: The embeddings averaged with their neighbours, which cluster more steadily;
            defaults to `embeddings`.
        full: Which windows hold a whole window of audio (the others were zero-padded); the
            chance distance is measured on them. Defaults to all.
        threshold: The separation test's threshold for this encoder's embeddings.
        no_dip: What two clusters with no dip between them do: "doubt" the count (p > `_DOUBT_P`),
            "merge" (p > `_ONE_VOICE_P`), or "pass" (nothing).

    Returns:
        An int label per embedding, ``0..k-1`` in order of first appearance, and the estimate.
    """
    source = "given" if num_speakers is not None else "estimated"
    if num_speakers is not None:
        min_speakers = max_speakers = num_speakers
    raw = np.asarray(embeddings, dtype=np.float64)
    steady = raw if smoothed is None else np.asarray(smoothed, dtype=np.float64)
    n = len(raw)
    high = min(max_speakers, n)
    low = min(min_speakers, high)
    if high <= 1:
        return np.zeros(n, dtype=int), CountEstimate(min(n, 1), source, 1.0)
    blocks = _blocks(n)
    raw_b, steady_b = _block_means(raw, blocks), _block_means(steady, blocks)
    full_b = None if full is None else np.array([bool(np.all(np.asarray(full)[b])) for b in blocks])
    if low == high:
        labels = _initial(steady_b, high, high)
        estimate = CountEstimate(int(labels.max()) + 1, source, 1.0)
    else:
        labels, estimate = _estimate(raw_b, steady_b, low, high, full_b, threshold, no_dip)
    if len(blocks) < n:  # every window to the nearest cluster centroid
        labels = _nearest(steady, steady_b, labels)
    return _first_appearance(labels), estimate


def _blocks(n: int) -> list[np.ndarray]:
    """Consecutive windows averaged together so that at most `_MAX_CLUSTERED` items are clustered."""
    size = max(1, math.ceil(n / _MAX_CLUSTERED))
    return [np.arange(i, min(n, i + size)) for i in range(0, n, size)]


def _block_means(x: np.ndarray, blocks: list[np.ndarray]) -> np.ndarray:
    if len(blocks) == len(x):
        return x
    means = np.stack([x[b].mean(axis=0) for b in blocks])
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def _nearest(x: np.ndarray, items: np.ndarray, labels: np.ndarray) -> np.ndarray:
    keys = np.unique(labels)
    centroids = np.stack([items[labels == k].mean(axis=0) for k in keys])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    return keys[(x @ centroids.T).argmax(axis=1)]


def _initial(steady: np.ndarray, low: int, high: int) -> np.ndarray:
    if len(steady) < _MIN_SPECTRAL:
        return average_linkage_labels(steady, high)
    # At least two: spectralcluster's min_clusters=1 ran a GMM single-speaker test, which
    # misjudged both monologues and similar voices here; the separation test decides that.
    return spectral_labels(steady, max(2, low), high)


def _cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The cosine distance between the centroids of two sets of windows."""
    x, y = a.mean(axis=0), b.mean(axis=0)
    return 1.0 - float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def merge_closest(embeddings: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """`labels` with the two clusters whose centroids stand closest merged, until `count` are left (0..count-1)."""
    labels = labels.copy()
    while len(keys := np.unique(labels)) > count:
        _, i, j = min(
            (_cosine_distance(embeddings[labels == a], embeddings[labels == b]), a, b)
            for a, b in itertools.combinations(keys, 2)
        )
        labels[labels == j] = i
    return np.unique(labels, return_inverse=True)[1]


def _noise_scale(raw: np.ndarray, steady: np.ndarray, labels: np.ndarray, full: np.ndarray | None = None) -> float:
    """How far apart chance puts the two halves of one voice, per 1/sqrt(windows).

    Each cluster is split in two by the same clustering; a split of `m` windows into halves
    of `m/2` has its centroids about `c * 2/sqrt(m)` apart by chance alone (measured on the
    bed's monologue and single speakers: 0.4/sqrt(m) for people), so `c` is what is left.
    Only `full` windows take part when clusters have enough of them: a split of all of a voice's
    windows cuts its zero-padded ones from the rest (see `merge_short_clusters`), which put chance
    too far, unevenly; on the tuning set a pair of women through the telephone band came out as
    three before, two after, and no other count changed.
    """
    if full is not None and not np.all(full):
        scales = _self_split_scales(raw[full], steady[full], labels[full])
        if scales:
            return float(np.median(scales))
    scales = _self_split_scales(raw, steady, labels)
    return float(np.median(scales)) if scales else _DEFAULT_NOISE


def _self_split_scales(raw: np.ndarray, steady: np.ndarray, labels: np.ndarray) -> list[float]:
    scales = []
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        if len(members) < _MIN_SELF_SPLIT:
            continue
        halves = spectral_labels(steady[members], 2, 2)
        if halves.min() == halves.max():
            continue
        distance = _cosine_distance(raw[members[halves == 0]], raw[members[halves == 1]])
        scales.append(distance * math.sqrt(len(members)) / 2)
    return scales


def closest_separation(embeddings: np.ndarray, smoothed: np.ndarray, labels: np.ndarray, full: np.ndarray) -> float:
    """The separation ratio of the two clusters that stand closest (`inf` for fewer than two)."""
    raw, steady = np.asarray(embeddings, dtype=np.float64), np.asarray(smoothed, dtype=np.float64)
    keys = np.unique(labels)
    if len(keys) < 2:
        return math.inf
    noise = _noise_scale(raw, steady, labels, np.asarray(full))
    return min(_separation(raw, labels, a, b, noise) for a, b in itertools.combinations(keys, 2))


def _separation(raw: np.ndarray, labels: np.ndarray, i: int, j: int, noise: float) -> float:
    return _ratio(raw[labels == i], raw[labels == j], noise)


def _ratio(a: np.ndarray, b: np.ndarray, noise: float, b_count: int | None = None) -> float:
    """`_separation` of two sets of windows; `b_count` when `b` repeats some of its windows."""
    return _cosine_distance(a, b) / (noise * math.sqrt(1 / len(a) + 1 / (b_count or len(b))))


def _estimate(
    raw: np.ndarray,
    steady: np.ndarray,
    low: int,
    high: int,
    full: np.ndarray | None = None,
    threshold: float = SEPARATION_THRESHOLD,
    no_dip: NoDip = "doubt",
) -> tuple[np.ndarray, CountEstimate]:
    labels = _initial(steady, low, high)
    found = int(labels.max()) + 1
    start = min(high, found + _EXTRA_CLUSTERS)
    if start > found and len(steady) >= _MIN_SPECTRAL:
        labels = spectral_labels(steady, start, start)
    # Measured once, on the finest clusters: merging two people into one would inflate it.
    noise = _noise_scale(raw, steady, labels, full)
    merged, kept = [], []  # separations of the merges made, and of the pair that was kept apart
    while len(keys := np.unique(labels)) > max(low, 1):
        ratio, i, j = min(
            (_separation(raw, labels, a, b, noise), a, b) for a, b in itertools.combinations(keys, 2)
        )
        if ratio >= threshold:
            kept.append(ratio)
            break
        merged.append(ratio)
        labels = np.where(labels == j, i, labels)
    if low <= 1 and len(np.unique(labels)) == 2 and len(steady) >= _MIN_SPECTRAL:
        # Merging can stall above one on a monologue; a fresh two-way split says it plainly.
        halves = spectral_labels(steady, 2, 2)
        if halves.min() != halves.max():
            ratio = _separation(raw, halves, 0, 1, noise)
            if ratio < threshold:
                labels = np.zeros(len(labels), dtype=int)
                merged.append(ratio)
                kept = []
            else:
                kept.append(ratio)
    labels, dip = (labels, None) if no_dip == "pass" else _one_voice_pairs(raw, labels, low, no_dip == "merge")
    count = len(np.unique(labels))
    merged_by_dip = dip is not None and no_dip == "merge"  # the separations' kept pairs are merged now
    decided = _confidence(count, merged[-1:], [] if merged_by_dip else kept, low, high, threshold)
    if dip is None:
        return labels, decided
    if merged_by_dip:
        return labels, dataclasses.replace(decided, dip=dip)
    confidence = min(decided.confidence, _SHORT_MERGE_CONFIDENCE)
    return labels, dataclasses.replace(decided, confidence=confidence, alternative=count - 1, dip=dip)


def _one_voice_pairs(raw: np.ndarray, labels: np.ndarray, low: int, merge: bool) -> tuple[np.ndarray, float | None]:
    """Merge (`merge`) or find the pairs of clusters with no dip between them; the last such p-value, or None."""
    dip = None
    while len(keys := np.unique(labels)) > max(low, 1):
        p, i, j = max((_dip_p(raw, labels, a, b), a, b) for a, b in itertools.combinations(keys, 2))
        if p <= (_ONE_VOICE_P if merge else _DOUBT_P):
            break
        dip = p
        if not merge:
            break
        labels = np.where(labels == j, i, labels)
    return labels, dip


def _dip_p(raw: np.ndarray, labels: np.ndarray, i: int, j: int) -> float:
    """Hartigan's dip test p-value of two clusters' windows laid on the line between their centroids.

    `diptest` is the maintained port of R's diptest (GPL-2.0-or-later), the reference implementation
    of the statistic and its p-value table; nothing else on PyPI offers a tested one.
    """
    import diptest  # here, not at the top: 0.15 s (it reads its package metadata), paid only for >= 2 clusters

    a, b = raw[labels == i], raw[labels == j]
    if min(len(a), len(b)) < _MIN_SELF_SPLIT:
        return 0.0  # too few windows to judge: the separation test's answer stands
    line = a.mean(axis=0) - b.mean(axis=0)
    line /= np.linalg.norm(line)
    return float(diptest.diptest(np.concatenate([a, b]) @ line)[1])


def _confidence(
    count: int, merged: list[float], kept: list[float], low: int, high: int, threshold: float = SEPARATION_THRESHOLD
) -> CountEstimate:
    """The decision closest to the threshold sets the confidence, and names the other count."""
    candidates = [(abs(math.log(r / threshold)), r, count + 1) for r in merged if count < high]
    candidates += [(abs(math.log(r / threshold)), r, count - 1) for r in kept if count > low]
    if not candidates:
        return CountEstimate(count, "estimated", 1.0)
    _, ratio, other = min(candidates)
    confidence = margin_confidence(ratio, threshold)
    return CountEstimate(count, "estimated", confidence, other if confidence < _UNSURE else None, ratio)


def margin_confidence(value: float, threshold: float) -> float:
    """How sure a decision is that `value` (a ratio, a cosine) lies on its side of `threshold`: 0.5 on it, ~0.73 at 10 % off."""
    return 1.0 / (1.0 + math.exp(-abs(math.log(value / threshold)) / _CONFIDENCE_SCALE))


def merge_short_clusters(
    raw: np.ndarray,
    smoothed: np.ndarray,
    labels: np.ndarray,
    lengths: np.ndarray,
    full: np.ndarray,
    probe: Callable[[np.ndarray, np.ndarray], np.ndarray],
    estimate: CountEstimate,
    low: int = 1,
    threshold: float = SEPARATION_THRESHOLD,
) -> tuple[np.ndarray, CountEstimate]:
    """Merge each cluster of mostly zero-padded windows into the voice it matches at the same lengths.

    A region shorter than a window is zero-padded to one, and padding moves an embedding as far as
    another person would: through a telephone band a monologue's short phrases made a second
    "speaker". So such a cluster is compared with each voice's full windows cut to the cluster's
    own lengths and padded the same way, by the estimate's separation test; below its threshold
    the cluster is that voice. A merge leaves the count unsure (`_SHORT_MERGE_CONFIDENCE`).

    Args:
        raw: ``[n, d]`` window embeddings, as clustered.
        smoothed: The same, averaged with their neighbours.
        labels: The estimate's label per window.
        lengths: Seconds of audio in each window.
        full: Which windows hold a whole window of audio (the others were zero-padded).
        probe: ``probe(windows, seconds)`` embeds those windows (indices) cut to those lengths from their start.
        estimate: The estimate the labels came with.
        low: The fewest speakers to leave.
        threshold: The separation test's threshold for this encoder's embeddings.

    Returns:
        Labels (``0..k-1`` by first appearance) and the estimate, unchanged when nothing merged.
    """
    raw, lengths = np.asarray(raw, dtype=np.float64), np.asarray(lengths)
    padded = ~np.asarray(full)
    # The noise scale is per 1/sqrt(windows), so at most `_MAX_CLUSTERED` of them measure it.
    some = np.unique(np.linspace(0, len(raw) - 1, min(len(raw), _MAX_CLUSTERED)).astype(int))
    raw_some, smoothed_some, full_some = raw[some], np.asarray(smoothed, dtype=np.float64)[some], ~padded[some]
    merged = []
    while len(keys := np.unique(labels)) > max(low, 1):
        short = [k for k in keys if padded[labels == k].mean() > 0.5]
        voices = [k for k in keys if k not in short]
        if not short or not voices:
            break
        noise = _noise_scale(raw_some, smoothed_some, labels[some], full_some)
        closest = None
        for k in short:
            members = labels == k
            # The cluster's own lengths, at evenly spaced quantiles: its full windows meet full
            # windows of the voice, its padded ones cuts of the same lengths.
            by_length = np.flatnonzero(members)[np.argsort(lengths[members], kind="stable")]
            chosen = by_length[np.linspace(0, len(by_length) - 1, _PROBES).astype(int)]
            own, cut = lengths[chosen], padded[chosen]
            for v in voices:
                whole = np.flatnonzero((labels == v) & ~padded)
                picked = whole[np.arange(_PROBES) * len(whole) // _PROBES]
                probes = raw[picked].copy()
                probes[cut] = probe(picked[cut], own[cut])
                ratio = _ratio(raw[members], probes, noise, min(len(whole), _PROBES))
                if (members & ~padded).any():  # its full windows, heard without padding, may stand apart
                    ratio = max(ratio, _ratio(raw[members & ~padded], raw[whole], noise))
                if closest is None or ratio < closest[0]:
                    closest = (ratio, k, v)
        if closest[0] >= threshold:
            break
        merged.append(closest[0])
        labels = np.where(labels == closest[1], closest[2], labels)
    if not merged:
        return labels, estimate
    count = len(np.unique(labels))
    confidence = min(estimate.confidence, _SHORT_MERGE_CONFIDENCE)
    return _first_appearance(labels), CountEstimate(count, "estimated", confidence, count + 1, max(merged))


def second_opinion(
    estimate: CountEstimate | None, llm_count: int | None, min_speakers: int, max_speakers: int
) -> int | None:
    """The count an LLM's reading of the text overrules the acoustic estimate with, if any.

    Only an estimate (never a given count) of one speaker that was itself unsure gives way:
    two voices heard as one leave no turns at all, the worst error, while the text still shows
    who asks and who answers. The LLM's count must lie within the requested bounds.
    """
    if estimate is None or llm_count is None or estimate.source != "estimated":
        return None
    if estimate.count != 1 or not estimate.unsure:
        return None
    if not max(2, min_speakers) <= llm_count <= max_speakers:
        return None
    return llm_count


def _first_appearance(labels: Sequence[Hashable]) -> np.ndarray:
    order: dict = {}
    return np.array([order.setdefault(label, len(order)) for label in labels], dtype=int)


def relabel_by_first_appearance(labels: Sequence[Hashable]) -> list[str]:
    """Name labels ``SPEAKER_00``, ``SPEAKER_01``, … in the order they first occur."""
    return [f"SPEAKER_{i:02d}" for i in _first_appearance(labels)]
