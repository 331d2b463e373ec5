"""The role stage as an asset: one local-LLM request per conversation (pool "ollama")."""

import dagster as dg
import pandas as pd
import pyarrow as pa

from ..roles.labels import label_roles
from .config import options_of
from .io_manager import PARQUET
from .partitions import audio_files
from .resources import OllamaResource

__all__ = ["speaker_roles", "ROLES_SCHEMA"]

ROLES_SCHEMA = pa.schema(
    [("audio_id", pa.string()), ("speaker", pa.string()), ("role", pa.string()), ("reason", pa.string())]
)


@dg.asset(
    partitions_def=audio_files, group_name="speakers", kinds={"ollama", "parquet"}, io_manager_key=PARQUET, pool="ollama"
)
def speaker_roles(
    context: dg.AssetExecutionContext, audio: pd.DataFrame, speaker_segments: pd.DataFrame, ollama: OllamaResource
) -> dg.Output[pa.Table]:
    """Role of each acoustic speaker from one local-LLM request; null with a reason on any fault."""
    options = options_of(audio)
    language = speaker_segments["language"].iloc[0] if len(speaker_segments) else options.language
    labels = label_roles(ollama, speaker_segments, options.roles, language)
    if labels.reason:
        context.log.warning(f"roles left empty: {labels.reason}")
    audio_id = audio.iloc[0]["audio_id"]
    rows = [{"audio_id": audio_id, "speaker": s, "role": r, "reason": labels.reason} for s, r in labels.roles.items()]
    return dg.Output(
        pa.Table.from_pylist(rows, schema=ROLES_SCHEMA),
        metadata={
            "roles": dg.MetadataValue.json(labels.roles),
            "reason": labels.reason or "",
            "llm_model": ollama.model,
        },
    )
