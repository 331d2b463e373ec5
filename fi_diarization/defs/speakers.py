"""The speaker stage as assets: acoustic turns, then a speaker for every word."""

import json

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..audio.samples import load_samples, voiced_regions
from ..records import TURN_SCHEMA, segments_from_frame, speaker_segments_table, turns_from_frame
from ..speakers.turns import SPEAKER_VAD, assign_speakers
from ..speakers.turns import speaker_turns as find_turns
from .config import options_of
from .io_manager import PARQUET
from .partitions import audio_files

__all__ = ["speaker_turns", "speaker_segments"]


@dg.asset(partitions_def=audio_files, group_name="speakers", kinds={"parquet"}, io_manager_key=PARQUET)
def speaker_turns(context: dg.AssetExecutionContext, audio: pd.DataFrame) -> dg.Output[pa.Table]:
    """Acoustic speaker turns from voice embeddings on the voiced regions, clustered."""
    record = audio.iloc[0]
    options = options_of(audio)
    samples = load_samples(record["samples_path"])
    turns, estimate = find_turns(
        samples,
        voiced_regions(samples, SPEAKER_VAD),
        num_speakers=options.num_speakers,
        min_speakers=options.min_speakers,
        max_speakers=options.max_speakers,
    )
    if estimate.unsure:
        context.log.warning(
            f"{estimate.count} speaker(s) estimated with confidence {estimate.confidence:.2f}; "
            f"{estimate.alternative} is also plausible: set num_speakers if you know the count"
        )
    evidence = json.dumps(estimate.as_dict())
    rows = [
        {"audio_id": record["audio_id"], "start": t.start, "end": t.end, "speaker": t.speaker, "count_estimate": evidence}
        for t in turns
    ]
    return dg.Output(
        pa.Table.from_pylist(rows, schema=TURN_SCHEMA),
        metadata={
            "speakers": estimate.count,
            "turns": len(turns),
            "count_source": estimate.source,
            "count_confidence": round(estimate.confidence, 3),
            "count_estimate": dg.MetadataValue.json(
                {**estimate.as_dict(), "bounds": [options.min_speakers, options.max_speakers]}
            ),
        },
    )


@dg.asset(partitions_def=audio_files, group_name="speakers", kinds={"parquet"}, io_manager_key=PARQUET)
def speaker_segments(transcription: pd.DataFrame, speaker_turns: pd.DataFrame) -> dg.Output[pa.Table]:
    """Transcript segments with a speaker per word, split where the speaker changes."""
    pairs = assign_speakers(segments_from_frame(transcription), turns_from_frame(speaker_turns))
    table = speaker_segments_table(pairs, transcription)
    return dg.Output(table, metadata={"segments": table.num_rows, "split_from": len(transcription)})
