"""The speaker stage as assets: acoustic turns, then a speaker for every word."""

from dataclasses import asdict

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..audio.samples import load_samples, voiced_regions
from ..records import SPEAKER_SEGMENT_SCHEMA, TURN_SCHEMA, Segment, Turn, Word
from ..speakers.turns import SPEAKER_VAD, assign_speakers
from ..speakers.turns import speaker_turns as find_turns
from .config import options_of
from .io_manager import PARQUET
from .partitions import audio_files

__all__ = ["speaker_turns", "speaker_segments"]


@dg.asset(partitions_def=audio_files, group_name="speakers", kinds={"parquet"}, io_manager_key=PARQUET)
def speaker_turns(audio: pd.DataFrame) -> dg.Output[pa.Table]:
    """Acoustic speaker turns from voice embeddings on the voiced regions, clustered."""
    record = audio.iloc[0]
    options = options_of(audio)
    samples = load_samples(record["samples_path"])
    regions = voiced_regions(samples, SPEAKER_VAD)
    turns = []
    if regions:
        turns = find_turns(
            samples,
            regions,
            num_speakers=options.num_speakers,
            min_speakers=options.min_speakers,
            max_speakers=options.max_speakers,
        )
    rows = [{"audio_id": record["audio_id"], "start": t.start, "end": t.end, "speaker": t.speaker} for t in turns]
    return dg.Output(
        pa.Table.from_pylist(rows, schema=TURN_SCHEMA),
        metadata={
            "speakers": len({t.speaker for t in turns}),
            "turns": len(turns),
            "count": "given" if options.num_speakers else f"estimated in [{options.min_speakers}, {options.max_speakers}]",
        },
    )


@dg.asset(partitions_def=audio_files, group_name="speakers", kinds={"parquet"}, io_manager_key=PARQUET)
def speaker_segments(transcription: pd.DataFrame, speaker_turns: pd.DataFrame) -> dg.Output[pa.Table]:
    """Transcript segments with a speaker per word, split where the speaker changes."""
    turns = [Turn(float(t.start), float(t.end), str(t.speaker)) for t in speaker_turns.itertuples()]
    segments = [
        Segment(
            float(seg.start),
            float(seg.end),
            str(seg.text),
            [Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"])) for w in seg.words],
        )
        for seg in transcription.itertuples()
    ]
    # One audio file per partition: these columns are the same on every row.
    constant = transcription.iloc[0][["audio_id", "language", "model"]].to_dict() if len(transcription) else {}
    rows = [
        {**constant, "start": part.start, "end": part.end, "speaker": speaker, "text": part.text,
         "words": [asdict(w) for w in part.words]}
        for speaker, part in assign_speakers(segments, turns)
    ]
    return dg.Output(
        pa.Table.from_pylist(rows, schema=SPEAKER_SEGMENT_SCHEMA),
        metadata={"segments": len(rows), "split_from": len(transcription)},
    )
