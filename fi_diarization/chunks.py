"""The chunk plan: voiced regions (Silero VAD) grouped into chunks cut only at silences."""

import dagster as dg
import pandas as pd
import pyarrow as pa

from .decode import load_audio, voiced_regions
from .io_manager import PARQUET
from .partitions import audio_files

__all__ = ["chunks", "plan_chunks", "CHUNK_SECONDS"]

# Whisper's window: a chunk longer than this would be cut by the model itself.
CHUNK_SECONDS = 30.0

REGION_TYPE = pa.list_(pa.struct([("start", pa.float64()), ("end", pa.float64())]))
CHUNK_SCHEMA = pa.schema(
    [
        ("audio_id", pa.string()),
        ("chunk_index", pa.int64()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("regions", REGION_TYPE),
    ]
)


def plan_chunks(
    regions: list[tuple[float, float]], max_seconds: float = CHUNK_SECONDS
) -> list[tuple[float, float, list[tuple[float, float]]]]:
    """Group consecutive regions into chunks no longer than `max_seconds`.

    Args:
      regions: Voiced regions in seconds, in time order, none longer than `max_seconds`.
      max_seconds: Longest chunk, silences inside it included.

    Returns:
      `(start, end, regions)` per chunk; every cut falls in the silence between two regions.
    """
    planned: list[tuple[float, float, list[tuple[float, float]]]] = []
    for start, end in regions:
        if planned and end - planned[-1][0] <= max_seconds:
            first, _, members = planned[-1]
            planned[-1] = (first, end, [*members, (start, end)])
        else:
            planned.append((start, end, [(start, end)]))
    return planned


@dg.asset(partitions_def=audio_files, group_name="transcription", kinds={"parquet"}, io_manager_key=PARQUET)
def chunks(context: dg.AssetExecutionContext, audio: pd.DataFrame) -> dg.Output[pa.Table]:
    """Chunks of at most 30 s, cut at silences found by Silero VAD (never mid-word)."""
    record = audio.iloc[0]
    samples = load_audio(record["path"])
    # The same VAD settings as faster-whisper's batched pipeline, so chunking costs no words.
    regions = voiced_regions(samples, min_silence_ms=160, speech_pad_ms=400, max_speech_s=CHUNK_SECONDS)
    planned = plan_chunks(regions)
    rows = [
        {
            "audio_id": record["audio_id"],
            "chunk_index": i,
            "start": start,
            "end": end,
            "regions": [{"start": s, "end": e} for s, e in members],
        }
        for i, (start, end, members) in enumerate(planned)
    ]
    voiced = sum(e - s for _, _, members in planned for s, e in members)
    return dg.Output(
        pa.Table.from_pylist(rows, schema=CHUNK_SCHEMA),
        metadata={
            "chunks": len(rows),
            "voiced_s": round(voiced, 2),
            "duration_s": float(record["duration_s"]),
            "first_chunks": dg.MetadataValue.json([[round(s, 2), round(e, 2)] for s, e, _ in planned[:50]]),
        },
    )
