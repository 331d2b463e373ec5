"""Spectral clustering as spectralcluster's Turn-to-Diarize configuration runs it, in numpy alone.

Ported from spectralcluster 0.2.22 (Apache-2.0, Google) and, for its k-means++ seeding, from
scikit-learn 1.9's `KMeans(init="k-means++", max_iter=1, random_state=0)`, which spectralcluster
calls. Why not the libraries: importing them pulls in scikit-learn and scipy.stats, 1.6 s of
single-threaded Python per process (measured here), which held the GIL beside Whisper for 4.5 s
of a 30-second file's run while the clustering itself took 0.05 s. test_speakers holds this port
to spectralcluster's labels on real and synthetic embeddings.
"""

from __future__ import annotations

import numpy as np

__all__ = ["spectral_labels", "average_linkage_labels"]

_EPS = 1e-10  # spectralcluster's EPS, in the eigengap ratio and the Laplacian's degree norm
# AutoTune(p_percentile_min=0.40, p_percentile_max=0.95, init_search_step=0.05, search_level=1)
_P_MIN, _P_MAX, _P_STEP = 0.40, 0.95, 0.05
_SOFT_MULTIPLIER = 0.01  # RowWiseThreshold: what is left of an affinity under the row's percentile
_KMEANS_MAX_ITER = 300  # spectralcluster's CustomKMeans
_KMEANS_TOL = 0.001


def spectral_labels(embeddings: np.ndarray, min_clusters: int, max_clusters: int) -> np.ndarray:
    """Cluster labels for `embeddings` ``[n, d]`` (n >= 2), with `min_clusters` >= 2.

    Cosine affinity, row-wise percentile thresholding with binarization (the percentile
    auto-tuned by the normalized maximum eigengap), average symmetrization, the graph-cut
    Laplacian, the eigengap count within the bounds, row-renormalized spectral embeddings,
    then k-means with cosine distance from k-means++ seeds.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    normed = x / np.linalg.norm(x, axis=1)[:, None]
    affinity = (normed @ normed.T + 1.0) / 2.0
    best = None
    for p in _percentiles():
        vectors, count, gap = _eigen(affinity, p, max_clusters)
        ratio = np.sqrt(1 - p) / gap if gap else np.inf
        if best is None or ratio < best[0]:
            best = (ratio, vectors, count)
    _, vectors, count = best
    count = max(count, min_clusters)
    spectral = vectors[:, :count]
    spectral = spectral / np.linalg.norm(spectral, axis=1, ord=2).reshape(len(x), 1)
    return _cosine_kmeans(spectral, _kmeans_plus_plus_step(spectral, count))


def _percentiles() -> list[float]:
    steps = int(np.ceil((_P_MAX - _P_MIN) / _P_STEP))
    return list(np.linspace(_P_MIN, _P_MAX, steps))


def _eigen(affinity: np.ndarray, p: float, max_clusters: int) -> tuple[np.ndarray, int, float]:
    """Sorted Laplacian eigenvectors, the eigengap count, and the largest gap ratio."""
    refined = affinity.copy()
    np.fill_diagonal(refined, 0.0)
    smaller = refined < np.percentile(refined, p * 100, axis=1)[:, None]
    refined = np.ones_like(refined) * np.invert(smaller) + refined * _SOFT_MULTIPLIER * smaller
    np.fill_diagonal(refined, 1.0)
    refined = 0.5 * (refined + refined.T)
    degree = refined.sum(axis=1)
    scale = 1 / (np.sqrt(degree) + _EPS)
    # D^-1/2 (D - A) D^-1/2, elementwise: the same numbers as spectralcluster's products with
    # diagonal matrices, without two n^3 matrix products per percentile.
    laplacian = scale[:, None] * (np.diag(degree) - refined) * scale[None, :]
    # Symmetric by construction (4e-19 measured): `eigh`, 2-3x faster than the general `eig`.
    values, vectors = np.linalg.eigh((laplacian + laplacian.T) / 2)
    order = np.argsort(values, kind="stable")
    values, vectors = values[order], vectors[:, order]
    gap, count = 0.0, 0
    end = min(len(values), max_clusters + 1)
    for i in range(1, end - 1):  # ascending: the first eigenvalue is always 0
        delta = values[i + 1] / (values[i] + _EPS)
        if delta > gap:
            gap, count = delta, i + 1
    return vectors, count, gap


def _squared_distances(a: np.ndarray, b: np.ndarray, b_norms: np.ndarray) -> np.ndarray:
    # scikit-learn's `_euclidean_distances(..., squared=True)`, operation for operation.
    distances = -2 * (a @ b.T)
    distances += np.einsum("ij,ij->i", a, a)[:, None]
    distances += b_norms[None, :]
    return np.maximum(distances, 0, out=distances)


def _kmeans_plus_plus_step(x: np.ndarray, k: int) -> np.ndarray:
    """scikit-learn's k-means++ seeds (random_state=0), then one Lloyd step: its `cluster_centers_`."""
    rng = np.random.RandomState(0)
    n = len(x)
    mean = x.mean(axis=0)
    x = x - mean  # scikit-learn centres the data for accuracy
    norms = np.einsum("ij,ij->i", x, x)
    weight = np.ones(n)
    trials = 2 + int(np.log(k))
    centers = np.empty((k, x.shape[1]))
    centers[0] = x[rng.choice(n, p=weight / weight.sum())]
    closest = _squared_distances(centers[0, None], x, norms)
    potential = closest @ weight
    for c in range(1, k):
        candidates = np.searchsorted(np.cumsum(weight * closest), rng.uniform(size=trials) * potential)
        np.clip(candidates, None, closest.size - 1, out=candidates)
        to_candidates = _squared_distances(x[candidates], x, norms)
        np.minimum(closest, to_candidates, out=to_candidates)
        potentials = to_candidates @ weight.reshape(-1, 1)
        best = np.argmin(potentials)
        potential, closest = potentials[best], to_candidates[best]
        centers[c] = x[candidates[best]]
    # One Lloyd step: each point to its nearest seed, each centre to the mean of its points.
    labels = np.argmin((centers * centers).sum(axis=1)[None, :] - 2 * (x @ centers.T), axis=1)
    sums = np.zeros_like(centers)
    np.add.at(sums, labels, x)
    counts = np.bincount(labels, minlength=k).astype(float)
    empty = np.flatnonzero(counts == 0)
    if len(empty):  # scikit-learn's relocation: the points farthest from their centre
        far = ((x - centers[labels]) ** 2).sum(axis=1)
        if far.max() > 0:
            for cluster, point in zip(empty, np.argpartition(far, -len(empty))[: -len(empty) - 1 : -1]):
                sums[labels[point]] -= x[point]
                sums[cluster] = x[point]
                counts[cluster] = 1.0
                counts[labels[point]] -= 1.0
    filled = counts > 0
    sums[filled] *= (1.0 / counts[filled])[:, None]
    sums[~filled] = sums[np.argmax(counts)]  # as scikit-learn places an empty cluster
    return sums + mean


def _cosine_kmeans(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """spectralcluster's CustomKMeans with cosine distance, from `centroids`."""
    samples = np.arange(len(x))
    previous = 0.0
    x_norms = np.linalg.norm(x, axis=1)
    for step in range(_KMEANS_MAX_ITER + 1):
        similarity = (x @ centroids.T) / (x_norms[:, None] * np.linalg.norm(centroids, axis=1)[None, :])
        distances = 1.0 - np.clip(similarity, -1.0, 1.0)  # scipy's cdist(metric="cosine")
        labels = distances.argmin(axis=1)
        mean_distance = np.mean(distances[samples, labels])
        if previous >= mean_distance >= (1 - _KMEANS_TOL) * previous or step == _KMEANS_MAX_ITER:
            break
        previous = mean_distance
        for j in range(len(centroids)):
            members = np.where(labels == j)[0]
            # `.any()` of the indices, as spectralcluster writes it: a cluster whose only
            # member is sample 0 keeps its centroid.
            if members.any():
                centroids[j] = np.mean(x[members], axis=0)
    return labels


def average_linkage_labels(embeddings: np.ndarray, k: int) -> np.ndarray:
    """Average-linkage agglomerative clustering on cosine distance, cut at `k` clusters.

    For the few windows (under six) too small for spectral clustering.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    normed = x / np.linalg.norm(x, axis=1)[:, None]
    distance = 1.0 - normed @ normed.T
    clusters = [[i] for i in range(len(x))]
    while len(clusters) > k:
        pairs = (
            (float(distance[np.ix_(a, b)].mean()), i, j)
            for i, a in enumerate(clusters)
            for j, b in enumerate(clusters)
            if i < j
        )
        _, i, j = min(pairs)
        clusters[i] = clusters[i] + clusters.pop(j)
    labels = np.empty(len(x), dtype=int)
    for label, members in enumerate(clusters):
        labels[members] = label
    return labels

