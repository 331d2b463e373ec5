"""The labelled transcript: speaker segments joined with their roles."""

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..records import TRANSCRIPT_SCHEMA, Turn, segments_from_frame, speaker_segments_table
from ..speakers.turns import assign_speakers
from ..results import footer
from .config import options_of
from .io_manager import PARQUET
from .partitions import audio_files

__all__ = ["transcript"]


@dg.asset(partitions_def=audio_files, group_name="transcript", kinds={"parquet"}, io_manager_key=PARQUET)
def transcript(audio: pd.DataFrame, speaker_segments: pd.DataFrame, speaker_roles: pd.DataFrame) -> dg.Output[pa.Table]:
    """Speaker-attributed transcript with roles: the table every reader uses."""
    record = audio.iloc[0]
    options = options_of(audio)
    revised = [
        Turn(float(span["start"]), float(span["end"]), str(row.speaker))
        for row in speaker_roles.itertuples()
        if row.turns is not None
        for span in row.turns
    ]
    if revised:  # the LLM's speaker count re-clustered the voices (see `speaker_roles`)
        pairs = assign_speakers(segments_from_frame(speaker_segments), sorted(revised, key=lambda t: t.start))
        speaker_segments = speaker_segments_table(pairs, speaker_segments).to_pandas()
    count = speaker_roles["count_estimate"].dropna()
    roles = dict(zip(speaker_roles["speaker"], speaker_roles["role"]))
    reasons = [r for r in speaker_roles["reason"].dropna().unique() if r]
    frame = speaker_segments.assign(role=speaker_segments["speaker"].map(roles))
    frame["role"] = frame["role"].astype(object).where(frame["role"].notna(), None)
    table = pa.Table.from_pandas(frame[TRANSCRIPT_SCHEMA.names], schema=TRANSCRIPT_SCHEMA, preserve_index=False)
    language = frame["language"].iloc[0] if len(frame) else ("und" if options.language == "auto" else options.language)
    table = table.replace_schema_metadata(
        footer(
            {
                "fingerprint": record["fingerprint"],
                "duration_s": record["duration_s"],
                "language": language,
                "model": options.model,
                "roles_reason": reasons[0] if reasons else "",
                "options": record["options"],
                "speaker_count": count.iloc[0] if len(count) else "",
            }
        )
    )
    return dg.Output(
        table,
        metadata={
            "segments": table.num_rows,
            "speakers": int(frame["speaker"].nunique()) if len(frame) else 0,
            "roles": dg.MetadataValue.json({str(k): v for k, v in roles.items()}),
            "roles_reason": reasons[0] if reasons else "",
            "fingerprint": record["fingerprint"],
        },
    )
