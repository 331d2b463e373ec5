"""Graph-backed transcription: plan batches, fan out over the `whisper` pool, merge."""

import bisect
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .decode import SAMPLE_RATE, load_audio
from .io_manager import PARQUET, write_parquet_atomic
from .options import options_of
from .partitions import audio_files
from .records import SEGMENT_SCHEMA, Segment, Word, segments_to_table
from .resources.whisper import WhisperResource
from .settings import get_settings

__all__ = ["transcription", "CHUNKS_PER_BATCH"]

# Chunks per fanned-out op: big enough that orchestration stays a small share of the
# work, small enough that a GPU pool above 1 has several batches to share.
CHUNKS_PER_BATCH = 16
_LANGUAGE_PROBE_S = 30.0


@dataclass
class Batch:
    """One fanned-out unit of work."""

    audio_id: str
    path: str
    sha256: str
    model: str
    language: str
    chunks: list[tuple[int, float, float]]


def _cache_dir(batch: Batch, loaded) -> Path:
    key = f"{batch.model}|{batch.language}|{loaded.device}|{loaded.compute_type}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return get_settings().cache / "chunks" / batch.sha256[:16] / digest


def _chunk_file(folder: Path, start: float, end: float) -> Path:
    return folder / f"{start:.3f}-{end:.3f}.parquet"


def _detect_language(loaded, audio: np.ndarray, chunk_rows: pd.DataFrame, requested: str) -> str:
    if requested != "auto":
        return requested if loaded.multilingual else "en"
    if not loaded.multilingual:
        return "en"
    if chunk_rows.empty:
        return "und"
    pieces, total = [], 0.0
    for row in chunk_rows.itertuples():
        pieces.append(audio[int(row.start * SAMPLE_RATE) : int(row.end * SAMPLE_RATE)])
        total += row.end - row.start
        if total >= _LANGUAGE_PROBE_S:
            break
    language, _probability, _ = loaded.model.detect_language(audio=np.concatenate(pieces))
    return language


@dg.op(out=dg.DynamicOut(Batch))
def plan_batches(context: dg.OpExecutionContext, audio: pd.DataFrame, chunks: pd.DataFrame, whisper: WhisperResource):
    """Resolve the language once, then split the chunk plan into batches."""
    record = audio.iloc[0]
    options = options_of(audio)
    loaded = whisper.load(options.model)
    language = _detect_language(loaded, load_audio(record["path"]), chunks, options.language)
    context.log.info(f"language {language}; {len(chunks)} chunks on {loaded.device}/{loaded.compute_type}")
    rows = [(int(r.chunk_index), float(r.start), float(r.end)) for r in chunks.itertuples()]
    batches = max(1, math.ceil(len(rows) / CHUNKS_PER_BATCH))
    for b in range(batches):
        part = rows[b * CHUNKS_PER_BATCH : (b + 1) * CHUNKS_PER_BATCH]
        yield dg.DynamicOutput(
            Batch(record["audio_id"], record["path"], record["sha256"], options.model, language, part),
            mapping_key=f"batch_{b:04d}",
        )


def _is_hallucination(segment) -> bool:
    # Whisper's own silence rule: probably no speech and low confidence in the text.
    return segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0


def _transcribe(
    loaded, audio: np.ndarray, group: list[tuple[int, float, float]], language: str
) -> dict[int, list[Segment]]:
    clips = [{"start": start, "end": end} for _, start, end in group]
    segments, _ = loaded.pipeline.transcribe(
        audio,
        language=None if language == "und" else language,
        clip_timestamps=clips,
        batch_size=len(group),
        word_timestamps=True,
    )
    found: dict[int, list[Segment]] = {index: [] for index, _, _ in group}
    starts = [start for _, start, _ in group]
    for seg in segments:
        if _is_hallucination(seg):
            continue
        # Segments are offset by their clip's start, so the clip is the last one starting before.
        index = group[max(0, bisect.bisect_right(starts, seg.start + 1e-3) - 1)][0]
        words = [Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in seg.words or []]
        found[index].append(Segment(float(seg.start), float(seg.end), seg.text.strip(), words))
    return found


@dg.op(pool="whisper")
def transcribe_batch(context: dg.OpExecutionContext, batch: Batch, whisper: WhisperResource) -> pd.DataFrame:
    """Transcribe one batch of chunks; chunks already in the chunk cache are not redone."""
    loaded = whisper.load(batch.model)
    folder = _cache_dir(batch, loaded)
    cached, todo = [], []
    for chunk in batch.chunks:
        path = _chunk_file(folder, chunk[1], chunk[2])
        (cached if path.is_file() else todo).append((chunk, path))
    if cached:
        context.log.info(f"{len(cached)} chunks from the chunk cache")
    tables = [pq.read_table(path) for _, path in cached]
    audio = load_audio(batch.path) if todo else None
    done = len(cached)
    step = max(1, whisper.batch_size)
    for i in range(0, len(todo), step):
        group = todo[i : i + step]
        found = _transcribe(loaded, audio, [chunk for chunk, _ in group], batch.language)
        for (chunk, path), segments in zip(group, found.values()):
            table = segments_to_table(segments, audio_id=batch.audio_id, language=batch.language, model=batch.model)
            write_parquet_atomic(table, path)
            tables.append(table)
        done += len(group)
        context.log.info(f"transcribed {done}/{len(batch.chunks)} chunks of this batch")
    if not tables:
        return segments_to_table([], audio_id=batch.audio_id).to_pandas()
    return pa.concat_tables(tables).to_pandas()


@dg.op(out=dg.Out(io_manager_key=PARQUET))
def merge_segments(context: dg.OpExecutionContext, audio: pd.DataFrame, parts: list[pd.DataFrame]) -> dg.Output[pa.Table]:
    """Put every batch's segments in time order as one table."""
    frames = [p for p in parts if not p.empty]
    merged = pd.concat(frames, ignore_index=True).sort_values("start", kind="stable") if frames else None
    if merged is None:
        table = segments_to_table([], audio_id=audio.iloc[0]["audio_id"])
    else:
        table = pa.Table.from_pandas(merged, schema=SEGMENT_SCHEMA, preserve_index=False)
    words = sum(len(w) for w in table.column("words").to_pylist())
    return dg.Output(table, metadata={"segments": table.num_rows, "words": words})


@dg.graph_asset(partitions_def=audio_files, group_name="transcription", kinds={"parquet"})
def transcription(audio, chunks):
    """Whisper segments with word timings in absolute seconds (fan-out over chunk batches)."""
    parts = plan_batches(audio, chunks).map(lambda batch: transcribe_batch(batch))
    return merge_segments(audio, parts.collect())
