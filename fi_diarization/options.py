"""Run options: one pydantic model, validated once, whoever starts the run."""

from __future__ import annotations

import hashlib
import json
from typing import Optional

from pydantic import BaseModel, Field, field_validator, model_validator

from .speech.models import default_model_spec

__all__ = ["RunOptions", "DEFAULT_ROLES"]

DEFAULT_ROLES = ("doctor", "patient", "companion", "other")


class RunOptions(BaseModel):
    """What to transcribe with; everything here is part of the result's identity.

    The constraints live on the fields, so the launchpad, the CLI and the sensor are held to
    the same rules before any stage runs (`TranscriptionConfig` is this model as `dg.Config`).
    """

    model: str = Field(default=default_model_spec(), description="bundled:tiny.en, bundled:base, a size name or a CTranslate2 folder")
    language: str = Field(default="auto", min_length=1, description="auto, or a language code such as en or es")
    num_speakers: Optional[int] = Field(default=None, ge=1, description="Exact speaker count; empty estimates it")
    min_speakers: int = Field(default=1, ge=1, description="Lower bound for the estimate")
    max_speakers: int = Field(default=8, ge=1, description="Upper bound for the estimate")
    roles: list[str] = Field(default=list(DEFAULT_ROLES), min_length=1, description="Closed set of roles the LLM may assign")

    @field_validator("roles")
    @classmethod
    def _distinct_roles(cls, roles: list[str]) -> list[str]:
        if any(not r.strip() for r in roles) or len(set(roles)) != len(roles):
            raise ValueError("roles must be distinct non-empty strings")
        return roles

    @model_validator(mode="after")
    def _speaker_bounds(self):
        if self.max_speakers < self.min_speakers:
            raise ValueError(f"min_speakers ({self.min_speakers}) is above max_speakers ({self.max_speakers})")
        return self

    def fingerprint(self) -> str:
        """Stable hash of every option that changes the output."""
        blob = json.dumps(self.model_dump(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
