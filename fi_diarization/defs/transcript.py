"""The labelled transcript: speaker segments joined with their roles."""

import time

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..records import TRANSCRIPT_SCHEMA, Turn, segments_from_frame, speaker_segments_table
from ..speakers.turns import assign_speakers
from ..results import footer
from ..results.plots import markdown_image
from ..results.timeline import preview_markdown, talk_share, timeline_png
from .config import options_of
from .io_manager import PARQUET
from .partitions import audio_files
from .timings import stage_seconds

__all__ = ["transcript", "STAGES"]

# The stages that make a transcript, in order; their wall seconds go in its metadata.
STAGES = ("audio", "chunks", "transcription", "speaker_turns", "speaker_segments", "speaker_roles", "transcript")


@dg.asset(partitions_def=audio_files, group_name="transcript", kinds={"parquet"}, io_manager_key=PARQUET)
def transcript(
    context: dg.AssetExecutionContext, audio: pd.DataFrame, speaker_segments: pd.DataFrame, speaker_roles: pd.DataFrame
) -> dg.Output[pa.Table]:
    """Speaker-attributed transcript with roles: the table every reader uses."""
    began = time.monotonic()
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
    duration_s = float(record["duration_s"])
    table = table.replace_schema_metadata(
        footer(
            {
                "fingerprint": record["fingerprint"],
                "duration_s": duration_s,
                "language": language,
                "model": options.model,
                "roles_reason": reasons[0] if reasons else "",
                "options": record["options"],
                "speaker_count": count.iloc[0] if len(count) else "",
            }
        )
    )
    picture = markdown_image(timeline_png(frame, duration_s, options.roles), "speaker timeline")
    seconds = stage_seconds(context.instance, context.partition_key, STAGES[:-1])
    seconds["transcript"] = round(time.monotonic() - began, 3)
    wall_s = round(sum(seconds.values()), 3)
    return dg.Output(
        table,
        metadata={
            "timeline": dg.MetadataValue.md(picture),
            "first_turns": dg.MetadataValue.md(preview_markdown(frame)),
            "duration_s": duration_s,
            "words": int(sum(len(w) for w in frame["words"])) if len(frame) else 0,
            "segments": table.num_rows,
            "speakers": int(frame["speaker"].nunique()) if len(frame) else 0,
            **{f"talk_share.{s}": round(share, 4) for s, share in talk_share(frame).items()},
            "language": language,
            "model": options.model,
            **{f"wall_s.{stage}": seconds[stage] for stage in STAGES if stage in seconds},
            "wall_s": wall_s,
            **({"rtf": round(wall_s / duration_s, 4)} if duration_s > 0 else {}),
            "roles": dg.MetadataValue.json({str(k): v for k, v in roles.items()}),
            "roles_reason": reasons[0] if reasons else "",
            "fingerprint": record["fingerprint"],
        },
    )
