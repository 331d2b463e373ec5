"""Graph-backed transcription: plan batches, fan out over the `whisper` pool, merge."""

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..audio.samples import load_samples
from ..records import SEGMENT_SCHEMA, segments_to_table
from ..settings import get_settings
from ..speech.transcribe import Chunk, detect_language, transcribe_chunks
from ..store import read_parquet, write_parquet_atomic
from ..tags import TRANSCRIBE_FIRST
from .config import options_of
from .io_manager import PARQUET
from .k8s import WHISPER_OP_TAGS
from .partitions import audio_files
from .resources import WhisperResource

__all__ = ["transcription", "CHUNKS_PER_BATCH"]

# Chunks per fanned-out op: big enough that orchestration stays a small share of the
# work, small enough that a GPU pool above 1 has several batches to share.
CHUNKS_PER_BATCH = 16


@dataclass
class Batch:
    """One fanned-out unit of work."""

    audio_id: str
    samples_path: str
    sha256: str
    model: str
    language: str
    chunks: list[Chunk]


def _chunks_of(table: pd.DataFrame) -> list[Chunk]:
    return [(int(r.chunk_index), [(float(g["start"]), float(g["end"])) for g in r.regions]) for r in table.itertuples()]


def _cache_dir(batch: Batch, loaded) -> Path:
    key = f"{batch.model}|{batch.language}|{loaded.device}|{loaded.compute_type}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return get_settings().cache / "chunks" / batch.sha256[:16] / digest


def _chunk_file(folder: Path, regions: list[tuple[float, float]]) -> Path:
    # Named by what the chunk holds, so a changed chunk plan never reuses a stale transcript.
    digest = hashlib.sha256(repr([(round(a, 3), round(b, 3)) for a, b in regions]).encode()).hexdigest()[:12]
    return folder / f"{regions[0][0]:.3f}-{regions[-1][1]:.3f}-{digest}.parquet"


@dg.op(out=dg.DynamicOut(Batch), pool="whisper", tags={**WHISPER_OP_TAGS, **TRANSCRIBE_FIRST})
def plan_batches(context: dg.OpExecutionContext, audio: pd.DataFrame, chunks: pd.DataFrame, whisper: WhisperResource):
    """Resolve the language once, then split the chunk plan into batches."""
    record = audio.iloc[0]
    options = options_of(audio)
    loaded = whisper.load(options.model)
    planned = _chunks_of(chunks)
    language = detect_language(loaded, load_samples(record["samples_path"]), planned, options.language)
    context.log.info(f"language {language}; {len(planned)} chunks on {loaded.device}/{loaded.compute_type}")
    if loaded.notice:
        context.log.warning(loaded.notice)
    device = {"device": f"{loaded.device}/{loaded.compute_type}", **({"device_notice": loaded.notice} if loaded.notice else {})}
    batches = max(1, math.ceil(len(planned) / CHUNKS_PER_BATCH))
    for b in range(batches):
        part = planned[b * CHUNKS_PER_BATCH : (b + 1) * CHUNKS_PER_BATCH]
        yield dg.DynamicOutput(
            Batch(record["audio_id"], record["samples_path"], record["sha256"], options.model, language, part),
            mapping_key=f"batch_{b:04d}",
            metadata=device,
        )


@dg.op(pool="whisper", tags={**WHISPER_OP_TAGS, **TRANSCRIBE_FIRST})
def transcribe_batch(context: dg.OpExecutionContext, batch: Batch, whisper: WhisperResource) -> pd.DataFrame:
    """Transcribe one batch of chunks; chunks already in the chunk cache are not redone."""
    loaded = whisper.load(batch.model)
    folder = _cache_dir(batch, loaded)
    cached, todo = [], []
    for chunk in batch.chunks:
        path = _chunk_file(folder, chunk[1])
        (cached if path.is_file() else todo).append((chunk, path))
    if cached:
        context.log.info(f"{len(cached)} chunks from the chunk cache")
    tables = [read_parquet(path) for _, path in cached]
    samples = load_samples(batch.samples_path) if todo else None
    done = len(cached)
    step = max(1, whisper.batch_size)
    for i in range(0, len(todo), step):
        group = todo[i : i + step]
        found = transcribe_chunks(loaded, samples, [chunk for chunk, _ in group], batch.language)
        for (chunk, path), segments in zip(group, found.values()):
            table = segments_to_table(segments, audio_id=batch.audio_id, language=batch.language, model=batch.model)
            write_parquet_atomic(table, path)
            tables.append(table)
        done += len(group)
        context.log.info(f"transcribed {done}/{len(batch.chunks)} chunks of this batch")
    if not tables:
        return segments_to_table([], audio_id=batch.audio_id).to_pandas()
    return pa.concat_tables(tables).to_pandas()


@dg.op(out=dg.Out(io_manager_key=PARQUET), tags=TRANSCRIBE_FIRST)
def merge_segments(audio: pd.DataFrame, parts: list[pd.DataFrame]) -> dg.Output[pa.Table]:
    """Put every batch's segments in time order as one table."""
    frames = [p for p in parts if not p.empty]
    if frames:
        merged = pd.concat(frames, ignore_index=True).sort_values("start", kind="stable")
        table = pa.Table.from_pandas(merged, schema=SEGMENT_SCHEMA, preserve_index=False)
    else:
        table = segments_to_table([], audio_id=audio.iloc[0]["audio_id"])
    words = sum(len(w) for w in table.column("words").to_pylist())
    return dg.Output(table, metadata={"segments": table.num_rows, "words": words})


@dg.graph_asset(partitions_def=audio_files, group_name="transcription", kinds={"parquet"})
def transcription(audio, chunks):
    """Whisper segments with word timings in absolute seconds (fan-out over chunk batches)."""
    parts = plan_batches(audio, chunks).map(lambda batch: transcribe_batch(batch))
    return merge_segments(audio, parts.collect())
