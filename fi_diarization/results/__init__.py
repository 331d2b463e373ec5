"""Materialized transcripts for pandas and the command line: Parquet only, no model code, no Dagster."""

from .tables import Result, ResultMeta, footer, load_transcripts, read_result, result_meta, transcript_path

__all__ = ["load_transcripts", "transcript_path", "read_result", "Result", "ResultMeta", "result_meta", "footer"]
