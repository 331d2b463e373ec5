"""Materialized transcripts for pandas and the command line: Parquet only, no model code, no Dagster."""

from .stats import load_stats
from .tables import Result, ResultMeta, footer, load_transcripts, read_result, result_meta, transcript_path

__all__ = ["load_transcripts", "load_stats", "transcript_path", "read_result", "Result", "ResultMeta", "result_meta", "footer"]
