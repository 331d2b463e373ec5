"""The `audio_files` dynamic partitions: one partition per audio id."""

import dagster as dg

__all__ = ["audio_files"]

audio_files = dg.DynamicPartitionsDefinition(name="audio_files")
