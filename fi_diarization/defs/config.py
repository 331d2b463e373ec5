"""The run options as the `audio` asset's `dg.Config`, and how later stages read them back."""

import dagster as dg

from ..options import RunOptions

__all__ = ["TranscriptionConfig", "run_config_for", "options_of"]


class TranscriptionConfig(dg.Config, RunOptions):
    """What to transcribe with; everything here is part of the result's identity."""


def run_config_for(config: RunOptions) -> dg.RunConfig:
    """The run config the UI, the CLI and the sensor all use for one audio file."""
    return dg.RunConfig(ops={"audio": TranscriptionConfig(**config.model_dump())})


def options_of(audio_table) -> RunOptions:
    """The options recorded by the `audio` asset (a one-row DataFrame)."""
    return RunOptions.model_validate_json(audio_table.iloc[0]["options"])
