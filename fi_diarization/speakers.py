"""Acoustic speaker turns: clustering voice embeddings, smoothing turns, word assignment."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from fi_diarization.records import Segment, Turn, Word
from fi_diarization.voices import embed_windows

__all__ = [
    "cluster_speakers",
    "speaker_turns",
    "assign_speakers",
    "relabel_by_first_appearance",
]

_FRAME_S = 0.05  # resolution of the smoothed speaker track
_MIN_TURN_S = 0.5
_MERGE_GAP_S = 0.5
_SMOOTH = 1  # neighbours on each side averaged into a window before clustering
_MIN_SPECTRAL = 6  # fewer windows than this are clustered agglomeratively
# Centroid cosine above which two clusters are one voice. Measured on espeak-ng voices:
# two-way splits of one voice 0.78-0.96 (5 % below 0.845), distinct voices 0.52-0.89.
_SAME_SPEAKER_SIMILARITY = 0.86

def _clusterer(min_clusters: int, max_clusters: int):
    # Rebuilt per call: configs.turntodiarize_clusterer is a shared instance whose AutoTune
    # narrows its own search range on every predict().
    from spectralcluster import autotune, configs, laplacian, refinement, spectral_clusterer

    options = refinement.RefinementOptions(
        thresholding_soft_multiplier=0.01,
        thresholding_type=refinement.ThresholdType.Percentile,
        thresholding_with_binarization=True,
        thresholding_preserve_diagonal=True,
        symmetrize_type=refinement.SymmetrizeType.Average,
        refinement_sequence=list(configs.TURNTODIARIZE_REFINEMENT_SEQUENCE),
    )
    tune = autotune.AutoTune(p_percentile_min=0.40, p_percentile_max=0.95, init_search_step=0.05, search_level=1)
    return spectral_clusterer.SpectralClusterer(
        min_clusters=min_clusters,
        max_clusters=max_clusters,
        refinement_options=options,
        autotune=tune,
        laplacian_type=laplacian.LaplacianType.GraphCut,
        row_wise_renorm=True,
        custom_dist="cosine",
    )


def cluster_speakers(
    embeddings: np.ndarray,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
) -> np.ndarray:
    """Cluster window embeddings into speakers.

    Spectral clustering with spectralcluster's Turn-to-Diarize configuration (auto-tuned
    affinity pruning, eigengap count). Without a fixed count, clusters whose centroids are
    near-duplicates are then merged, which is also how a single speaker is recognised.

    Args:
        embeddings: ``[n, d]`` speaker embeddings.
        num_speakers: Exact number of speakers, when known.
        min_speakers: Lower bound on the estimated count.
        max_speakers: Upper bound on the estimated count.

    Returns:
        An int label per embedding, ``0..k-1`` in order of first appearance.
    """
    if num_speakers is not None:
        if num_speakers < 1:
            raise ValueError(f"num_speakers must be at least 1, got {num_speakers}")
        min_speakers = max_speakers = num_speakers
    if min_speakers < 1 or max_speakers < min_speakers:
        raise ValueError(f"need 1 <= min_speakers <= max_speakers, got {min_speakers}, {max_speakers}")
    embeddings = np.asarray(embeddings, dtype=np.float64)
    n = len(embeddings)
    high = min(max_speakers, n)
    low = min(min_speakers, high)
    if high <= 1:
        return np.zeros(n, dtype=int)
    if n < _MIN_SPECTRAL:
        from sklearn.cluster import AgglomerativeClustering

        labels = AgglomerativeClustering(n_clusters=high, metric="cosine", linkage="average").fit_predict(embeddings)
    else:
        # min_clusters=1 would route through spectralcluster's GMM single-speaker test,
        # which misjudged both monologues and similar voices here; the merge below decides.
        labels = _clusterer(max(2, low), high).predict(embeddings)
    if low < high:
        labels = _merge_similar(embeddings, labels, low)
    if low == 1 and labels.max() > 0 and n >= _MIN_SPECTRAL:
        # Merging many small, noisy clusters can stall above one; a plain two-way split
        # of a single voice still has near-duplicate halves.
        halves = _clusterer(2, 2).predict(embeddings)
        if _centroid_similarity(embeddings, halves == 0, halves == 1) > _SAME_SPEAKER_SIMILARITY:
            labels = np.zeros(n, dtype=int)
    return _first_appearance(labels)


def _centroid_similarity(embeddings: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    x, y = embeddings[a].mean(axis=0), embeddings[b].mean(axis=0)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def _merge_similar(embeddings: np.ndarray, labels: np.ndarray, min_clusters: int) -> np.ndarray:
    labels = labels.copy()
    while True:
        keys = np.unique(labels)
        if len(keys) <= min_clusters:
            return labels
        centroids = np.stack([embeddings[labels == k].mean(axis=0) for k in keys])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -1.0)
        i, j = np.unravel_index(similarity.argmax(), similarity.shape)
        if similarity[i, j] <= _SAME_SPEAKER_SIMILARITY:
            return labels
        labels[labels == keys[j]] = keys[i]


def _first_appearance(labels: Sequence[Hashable]) -> np.ndarray:
    order: dict = {}
    return np.array([order.setdefault(label, len(order)) for label in labels], dtype=int)


def relabel_by_first_appearance(labels: Sequence[Hashable]) -> list[str]:
    """Name labels ``SPEAKER_00``, ``SPEAKER_01``, … in the order they first occur."""
    return [f"SPEAKER_{i:02d}" for i in _first_appearance(labels)]


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


def speaker_turns(
    audio: np.ndarray,
    regions: list[tuple[float, float]],
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
) -> list[Turn]:
    """Find who speaks when in the voiced regions.

    Embedding windows never cross a region boundary, so regions that split at pauses of
    0.3 s or more (Silero ``min_silence_duration_ms=300``) give the sharpest turns; a turn
    change inside a region is placed to within about half a second (windows step 0.5 s).

    Args:
        audio: Mono float32 waveform at 16 kHz.
        regions: Voiced spans in seconds.
        num_speakers: Exact number of speakers, when known.
        min_speakers: Lower bound on the estimated count.
        max_speakers: Upper bound on the estimated count.

    Returns:
        Contiguous turns in time order, speakers named ``SPEAKER_00``… by first appearance.
    """
    regions = sorted((float(a), float(b)) for a, b in regions if b > a)
    embeddings, spans = embed_windows(audio, regions)
    if len(embeddings) == 0:
        return []
    labels = cluster_speakers(_smooth_embeddings(embeddings, spans), num_speakers, min_speakers, max_speakers)
    runs = _merge_runs(_smooth_track(regions, spans, labels, int(labels.max()) + 1))
    names = relabel_by_first_appearance([k for _, _, k in runs])
    return [Turn(round(a, 3), round(b, 3), name) for (a, b, _), name in zip(runs, names)]


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
