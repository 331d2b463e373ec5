"""The chunk plan as an asset: Silero VAD regions grouped into chunks of at most 30 s of speech."""

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..speech.chunking import chunk_plan
from ..tags import TRANSCRIBE_FIRST
from .io_manager import PARQUET
from .partitions import audio_files

__all__ = ["chunks", "CHUNK_SCHEMA"]

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


@dg.asset(
    partitions_def=audio_files, group_name="transcription", kinds={"parquet"}, io_manager_key=PARQUET, op_tags=TRANSCRIBE_FIRST
)
def chunks(audio: pd.DataFrame) -> dg.Output[pa.Table]:
    """Chunks of at most 30 s of speech, cut at silences found by Silero VAD (never mid-word)."""
    record = audio.iloc[0]
    planned = chunk_plan(record["samples_path"], record["sha256"])
    rows = [
        {
            "audio_id": record["audio_id"],
            "chunk_index": i,
            "start": members[0][0],
            "end": members[-1][1],
            "regions": [{"start": s, "end": e} for s, e in members],
        }
        for i, members in enumerate(planned)
    ]
    voiced = sum(e - s for members in planned for s, e in members)
    return dg.Output(
        pa.Table.from_pylist(rows, schema=CHUNK_SCHEMA),
        metadata={
            "chunks": len(rows),
            "voiced_s": round(voiced, 2),
            "duration_s": float(record["duration_s"]),
            "first_chunks": dg.MetadataValue.json([[round(m[0][0], 2), round(m[-1][1], 2)] for m in planned[:50]]),
        },
    )
