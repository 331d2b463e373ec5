"""The role stage as an asset: one local-LLM request per conversation (pool "ollama").

The same request asks the LLM how many people the text shows. When the acoustic estimate was
one speaker and unsure, that count re-clusters the voices (`speakers.second_opinion`); the
revised turns travel in this asset's table and `transcript` attributes the words to them.
"""

import dataclasses
import json

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..records import segments_from_frame, speaker_segments_table
from ..roles.labels import label_roles
from ..speakers.clustering import CountEstimate, second_opinion
from ..speakers.turns import assign_speakers, speaker_turns_of
from .config import options_of
from .io_manager import PARQUET
from .partitions import audio_files
from .resources import OllamaResource

__all__ = ["speaker_roles", "ROLES_SCHEMA"]

TURN_SPAN = pa.list_(pa.struct([("start", pa.float64()), ("end", pa.float64())]))
ROLES_SCHEMA = pa.schema(
    [
        ("audio_id", pa.string()),
        ("speaker", pa.string()),
        ("role", pa.string()),
        ("reason", pa.string()),
        # The speaker's turns when the LLM's count revised the acoustic one; null otherwise.
        ("turns", TURN_SPAN),
        # How the final count was reached (`CountEstimate.as_dict()` as JSON), the same on every row.
        ("count_estimate", pa.string()),
    ]
)


def _estimate_of(speaker_turns: pd.DataFrame) -> CountEstimate | None:
    if speaker_turns.empty:
        return None
    return CountEstimate.from_dict(json.loads(speaker_turns["count_estimate"].iloc[0]))


@dg.asset(
    partitions_def=audio_files, group_name="speakers", kinds={"ollama", "parquet"}, io_manager_key=PARQUET, pool="ollama"
)
def speaker_roles(
    context: dg.AssetExecutionContext,
    audio: pd.DataFrame,
    speaker_turns: pd.DataFrame,
    speaker_segments: pd.DataFrame,
    ollama: OllamaResource,
) -> dg.Output[pa.Table]:
    """Role of each speaker from one local-LLM request (null with a reason on any fault), and its speaker count."""
    options = options_of(audio)
    language = speaker_segments["language"].iloc[0] if len(speaker_segments) else options.language
    labels = label_roles(ollama, speaker_segments, options.roles, language)
    estimate = _estimate_of(speaker_turns)
    revised = None
    count = second_opinion(estimate, labels.speaker_count, options.min_speakers, options.max_speakers)
    if count is not None:
        context.log.warning(
            f"acoustics heard 1 speaker (confidence {estimate.confidence:.2f}); the text shows {count}: re-clustering"
        )
        revised, _ = speaker_turns_of(audio.iloc[0]["samples_path"], num_speakers=count)
        pairs = assign_speakers(segments_from_frame(speaker_segments), revised)
        labels = label_roles(ollama, speaker_segments_table(pairs, speaker_segments).to_pandas(), options.roles, language)
        estimate = dataclasses.replace(estimate, count=len({t.speaker for t in revised}), source="llm", alternative=1)
    if labels.reason:
        context.log.warning(f"roles left empty: {labels.reason}")
    spans = {}
    for t in revised or []:
        spans.setdefault(t.speaker, []).append({"start": t.start, "end": t.end})
    evidence = json.dumps(estimate.as_dict()) if estimate else None
    audio_id = audio.iloc[0]["audio_id"]
    rows = [
        {"audio_id": audio_id, "speaker": s, "role": r, "reason": labels.reason, "turns": spans.get(s),
         "count_estimate": evidence}
        for s, r in labels.roles.items()
    ]
    return dg.Output(
        pa.Table.from_pylist(rows, schema=ROLES_SCHEMA),
        metadata={
            "roles": dg.MetadataValue.json(labels.roles),
            "reason": labels.reason or "",
            "llm_model": ollama.model,
            "llm_speaker_count": labels.speaker_count if labels.speaker_count is not None else 0,
            "count_revised_by_llm": count is not None,
        },
    )

