"""The speaker stage as assets: acoustic turns, then a speaker for every word."""

import json
import time

import dagster as dg
import pandas as pd
import pyarrow as pa

from .. import background
from ..options import RunOptions
from ..records import TURN_SCHEMA, Turn, segments_from_frame, speaker_segments_table, turns_from_frame
from ..speakers.clustering import CountEstimate
from ..speakers.turns import assign_speakers, speaker_turns_of
from .config import options_of
from .io_manager import PARQUET
from .partitions import audio_files

__all__ = ["speaker_turns", "speaker_segments", "start_beside_whisper"]


def _key_and_bounds(samples_path: str, options: RunOptions) -> tuple[str, dict]:
    key = f"speaker_turns|{samples_path}|{options.num_speakers}|{options.min_speakers}|{options.max_speakers}"
    bounds = {"num_speakers": options.num_speakers, "min_speakers": options.min_speakers, "max_speakers": options.max_speakers}
    return key, bounds


def _timed_turns(samples_path: str, **kwargs) -> tuple[list[Turn], CountEstimate, float]:
    """`speaker_turns_of` with the seconds it took, wherever it ran."""
    start = time.perf_counter()
    turns, estimate = speaker_turns_of(samples_path, **kwargs)
    return turns, estimate, time.perf_counter() - start


def start_beside_whisper(samples_path: str, options: RunOptions) -> None:
    """Start this file's speaker turns in a background thread of this process, to overlap Whisper.

    Measured on a 5-minute file: plain faster-whisper keeps ~1.5 of the 2 cores busy, and the
    speaker stage (its own VAD, embeddings, clustering) is ~6 s that otherwise runs after it.
    The encoder takes one thread, to fill the idle core rather than fight Whisper for both.
    """
    key, bounds = _key_and_bounds(samples_path, options)
    background.start(key, _timed_turns, samples_path, **bounds, threads=1)


@dg.asset(partitions_def=audio_files, group_name="speakers", kinds={"parquet"}, io_manager_key=PARQUET)
def speaker_turns(context: dg.AssetExecutionContext, audio: pd.DataFrame) -> dg.Output[pa.Table]:
    """Acoustic speaker turns from voice embeddings on the voiced regions, clustered."""
    record = audio.iloc[0]
    options = options_of(audio)
    key, bounds = _key_and_bounds(record["samples_path"], options)
    beside = background.take(key)
    turns, estimate, seconds = beside.result() if beside else _timed_turns(record["samples_path"], **bounds)
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
            "found_beside_whisper": beside is not None,
            # The stage's own time: beside Whisper, the step itself only waits for what is left.
            "stage_seconds": round(seconds, 2),
            "count_confidence": round(estimate.confidence, 3),
            # "ecapa" when resemblyzer was unsure and the second listener's clusters were taken.
            "speaker_encoder": estimate.encoder,
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
