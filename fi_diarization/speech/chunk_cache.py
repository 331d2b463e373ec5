"""The chunk cache: each chunk's transcript on disk, named by what it holds, so no chunk is transcribed twice."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from ..audio.samples import load_samples
from ..records import segments_to_table
from ..settings import get_settings
from ..store import AnyPath, exclusive, read_parquet, write_parquet_atomic
from .transcribe import Chunk, transcribe_chunks

__all__ = ["CHUNKS_PER_BATCH", "batches_of", "transcribe_cached"]

# Chunks per fanned-out op: big enough that orchestration stays a small share of the
# work, small enough that a GPU pool above 1 has several batches to share.
CHUNKS_PER_BATCH = 16


def batches_of(chunks: list[Chunk]) -> list[list[Chunk]]:
    """The chunk plan split into the fan-out's batches."""
    return [chunks[i : i + CHUNKS_PER_BATCH] for i in range(0, len(chunks), CHUNKS_PER_BATCH)] or [[]]


def _cache_dir(sha256: str, model: str, language: str, device: str, compute_type: str) -> AnyPath:
    """Where one file's chunks are cached for one model, language and device."""
    digest = hashlib.sha256(f"{model}|{language}|{device}|{compute_type}".encode()).hexdigest()[:16]
    return get_settings().cache / "chunks" / sha256[:16] / digest


def _chunk_file(folder: AnyPath, regions: list[tuple[float, float]]) -> AnyPath:
    # Named by what the chunk holds, so a changed chunk plan never reuses a stale transcript.
    digest = hashlib.sha256(repr([(round(a, 3), round(b, 3)) for a, b in regions]).encode()).hexdigest()[:12]
    return folder / f"{regions[0][0]:.3f}-{regions[-1][1]:.3f}-{digest}.parquet"


def transcribe_cached(
    loaded,
    samples_path: str,
    chunks: list[Chunk],
    *,
    sha256: str,
    audio_id: str,
    model: str,
    language: str,
    group: int,
    progress: Callable[[str], None] = lambda _line: None,
) -> list:
    """Each chunk's segment table: read from the cache, or transcribed `group` chunks per call and cached.

    Whoever holds the folder's lock transcribes; a second run of the same file waits and
    then reads. A chunk is cached as soon as its call ends, so a killed run loses at most one
    call's work. The samples are mapped only when a chunk is left to transcribe.
    """
    folder = _cache_dir(sha256, model, language, loaded.device, loaded.compute_type)
    with exclusive(folder):
        cached, todo = [], []
        for chunk in chunks:
            path = _chunk_file(folder, chunk[1])
            (cached if path.is_file() else todo).append((chunk, path))
        if cached:
            progress(f"{len(cached)} chunks from the chunk cache")
        tables = [read_parquet(path) for _, path in cached]
        audio = load_samples(samples_path) if todo else None
        done = len(cached)
        step = max(1, group)
        for i in range(0, len(todo), step):
            part = todo[i : i + step]
            found = transcribe_chunks(loaded, audio, [chunk for chunk, _ in part], language)
            for (_, path), segments in zip(part, found.values()):
                table = segments_to_table(segments, audio_id=audio_id, language=language, model=model)
                write_parquet_atomic(table, path)
                tables.append(table)
            done += len(part)
            progress(f"transcribed {done}/{len(chunks)} chunks of this batch")
    return tables
