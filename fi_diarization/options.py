"""Run options: one `dg.Config` shared by the launchpad, the CLI and the sensor."""

from __future__ import annotations

import hashlib
import json
from typing import Optional

import dagster as dg
from pydantic import Field

from .resources.whisper import default_model_spec

__all__ = ["TranscriptionConfig", "run_config_for", "options_of", "DEFAULT_ROLES"]

DEFAULT_ROLES = ("doctor", "patient", "companion", "other")



class TranscriptionConfig(dg.Config):
    """What to transcribe with; everything here is part of the result's identity."""

    model: str = Field(default=default_model_spec(), description="bundled:tiny.en, bundled:base, a size name or a CTranslate2 folder")
    language: str = Field(default="auto", description="auto, or a language code such as en or es")
    num_speakers: Optional[int] = Field(default=None, description="Exact speaker count; empty estimates it")
    min_speakers: int = Field(default=1, description="Lower bound for the estimate")
    max_speakers: int = Field(default=8, description="Upper bound for the estimate")
    roles: list[str] = Field(default=list(DEFAULT_ROLES), description="Closed set of roles the LLM may assign")

    def validated(self) -> "TranscriptionConfig":
        if (self.num_speakers is not None and self.num_speakers < 1) or self.min_speakers < 1 or self.max_speakers < self.min_speakers:
            raise ValueError("speakers: need num_speakers >= 1 (or empty) and 1 <= min_speakers <= max_speakers")
        if not self.roles or any(not r.strip() for r in self.roles):
            raise ValueError("roles: need at least one non-empty role")
        return self

    def fingerprint(self) -> str:
        """Stable hash of every option that changes the output."""
        blob = json.dumps(self.model_dump(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_config_for(config: TranscriptionConfig) -> dg.RunConfig:
    """The run config the UI, the CLI and the sensor all use for one audio file."""
    return dg.RunConfig(ops={"audio": config})


def options_of(audio_table) -> TranscriptionConfig:
    """The options recorded by the `audio` asset (a one-row DataFrame)."""
    return TranscriptionConfig.model_validate_json(audio_table.iloc[0]["options"])
