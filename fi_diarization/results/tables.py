"""Reading materialized transcripts: Parquet only, no model code, no Dagster."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from ..records import TRANSCRIPT_SCHEMA
from ..settings import Settings, data_root, get_settings
from ..store import AnyPath, read_parquet, read_parquet_schema

__all__ = [
    "load_transcripts", "transcript_path", "read_result", "Result", "ResultMeta", "result_meta", "footer", "settings_at",
]

TRANSCRIPT_ASSET = "transcript"


@dataclass(frozen=True)
class ResultMeta:
    """What the transcript's Parquet footer says about the result."""

    audio_id: str
    path: AnyPath
    fingerprint: str
    duration_s: float
    language: str
    model: str
    roles_reason: str
    options: str
    speaker_count: dict | None = None  # how the count was reached; see `speakers.CountEstimate`

    def notices(self) -> list[str]:
        """One-line notices a person should see with this result."""
        notes = [self.roles_reason] if self.roles_reason else []
        count = self.speaker_count or {}
        if count.get("source") == "estimated" and count.get("alternative") is not None:
            notes.append(
                f"{self.audio_id}: {count['count']} speaker(s) estimated, unsure (confidence "
                f"{count['confidence']:.2f}) against {count['alternative']}: if you know the count, "
                f"run again with --num-speakers N"
            )
        elif count.get("source") == "llm":
            notes.append(
                f"{self.audio_id}: the voices sounded like one speaker (confidence {count['confidence']:.2f}); "
                f"the LLM's reading of the text found {count['count']}, and the turns follow it "
                f"(--num-speakers N fixes the count)"
            )
        return notes


@dataclass(frozen=True)
class Result:
    """One materialized transcript and its footer."""

    meta: ResultMeta
    segments: pd.DataFrame


def settings_at(home: str | AnyPath | None) -> Settings:
    """The settings of this process, with the data root moved to `home` (a folder or a URL) when given."""
    settings = get_settings()
    return settings if home is None else Settings(**{**settings.__dict__, "home": data_root(home)})


def transcript_path(audio_id: str, settings: Settings | None = None) -> AnyPath:
    """Where the `transcript` asset keeps one audio file's result."""
    settings = settings or get_settings()
    return settings.storage / TRANSCRIPT_ASSET / f"{audio_id}.parquet"


def footer(fields: dict[str, object]) -> dict[bytes, bytes]:
    """Footer metadata for `pa.Table.replace_schema_metadata`: readers learn these without scanning rows."""
    return {f"fi.{k}".encode(): str(v).encode() for k, v in fields.items()}


def result_meta(audio_id: str, settings: Settings | None = None) -> ResultMeta | None:
    """Read only the footer of a transcript; None when there is none."""
    path = transcript_path(audio_id, settings)
    try:
        raw = read_parquet_schema(path).metadata or {}
    except (FileNotFoundError, pa.ArrowInvalid):
        return None
    meta = {k.decode()[3:]: v.decode() for k, v in raw.items() if k.startswith(b"fi.")}
    return ResultMeta(
        audio_id=audio_id,
        path=path,
        fingerprint=meta.get("fingerprint", ""),
        duration_s=float(meta.get("duration_s") or 0.0),
        language=meta.get("language", ""),
        model=meta.get("model", ""),
        roles_reason=meta.get("roles_reason", ""),
        options=meta.get("options", "{}"),
        speaker_count=json.loads(meta["speaker_count"]) if meta.get("speaker_count") else None,
    )


def read_result(audio_id: str, settings: Settings | None = None) -> Result | None:
    """One transcript with its footer; None when it was never materialized."""
    meta = result_meta(audio_id, settings)
    if meta is None:
        return None
    return Result(meta, _typed(read_parquet(meta.path)))


def _typed(table: pa.Table) -> pd.DataFrame:
    columns = [name for name in TRANSCRIPT_SCHEMA.names if name in table.column_names]
    frame = table.select(columns).to_pandas()
    for name in ("audio_id", "speaker", "role", "text", "language", "model"):
        if name in frame:
            frame[name] = frame[name].astype("string")
    return frame


def load_transcripts(audio_ids: str | Iterable[str] | None = None, *, home: str | AnyPath | None = None) -> pd.DataFrame:
    """Every materialized transcript as one DataFrame (typed columns, one row per segment).

    Args:
      audio_ids: One audio id or several; None reads them all.
      home: Data root, a folder or an object-store URL (`s3://bucket/prefix`, read through
        fsspec with pyarrow); defaults to `FI_DIARIZATION_HOME`.

    Returns:
      Columns audio_id, start, end, speaker, role, text, language, model, words.
    """
    settings = settings_at(home)
    folder = settings.storage / TRANSCRIPT_ASSET
    if audio_ids is None:
        paths = sorted(folder.glob("*.parquet"))
    else:
        ids = [audio_ids] if isinstance(audio_ids, str) else list(audio_ids)
        paths = [p for p in (transcript_path(i, settings) for i in ids) if p.is_file()]
    if not paths:
        return _typed(TRANSCRIPT_SCHEMA.empty_table())
    return _typed(pa.concat_tables([read_parquet(p) for p in paths], promote_options="default"))
