"""Graph-backed transcription: plan batches, fan out over the `whisper` pool, merge."""

from dataclasses import dataclass

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..audio.samples import load_samples
from ..records import SEGMENT_SCHEMA, segments_to_table
from ..speech.chunk_cache import batches_of, transcribe_cached
from ..speech.transcribe import Chunk, detect_language
from ..tags import TRANSCRIBE_FIRST
from .config import options_of
from .io_manager import PARQUET
from .k8s import WHISPER_OP_TAGS
from .partitions import audio_files
from .resources import WhisperResource

__all__ = ["transcription"]


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
    for b, part in enumerate(batches_of(planned)):
        yield dg.DynamicOutput(
            Batch(record["audio_id"], record["samples_path"], record["sha256"], options.model, language, part),
            mapping_key=f"batch_{b:04d}",
            metadata=device,
        )


@dg.op(pool="whisper", tags={**WHISPER_OP_TAGS, **TRANSCRIBE_FIRST})
def transcribe_batch(context: dg.OpExecutionContext, batch: Batch, whisper: WhisperResource) -> pd.DataFrame:
    """Transcribe one batch of chunks; chunks already in the chunk cache are not redone."""
    tables = transcribe_cached(
        whisper.load(batch.model),
        batch.samples_path,
        batch.chunks,
        sha256=batch.sha256,
        audio_id=batch.audio_id,
        model=batch.model,
        language=batch.language,
        group=whisper.batch_size,
        progress=context.log.info,
    )
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
