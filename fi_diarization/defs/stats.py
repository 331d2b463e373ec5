"""Processing stats across every file, refreshed by an automation condition when transcripts land."""

import dagster as dg
import pyarrow as pa

from ..audio.intake import quarantined
from ..results.plots import markdown_image
from ..results.stats import FILE_FIELDS, STATS_ASSET, stats_png, stats_table, summarize
from ..settings import get_settings
from ..status import failure_reason
from ..tags import PARTITION_TAG
from .io_manager import PARQUET

__all__ = ["processing_stats", "build_stats_sensor", "STATS_CONDITION"]

# eager() less "no dependency partition missing": a file still queued or one that failed has no
# transcript, and must not hold back the stats of all the others.
STATS_CONDITION = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


def _done_rows(instance: dg.DagsterInstance) -> list[dict]:
    """The latest `transcript` materialization of each file, from its metadata alone."""
    rows: dict[str, dict] = {}
    cursor = None
    while True:
        page = instance.fetch_materializations(dg.AssetKey("transcript"), limit=500, cursor=cursor)
        for record in page.records:  # newest first: the first one seen per file is its latest
            partition = record.partition_key
            if partition is None or partition in rows:
                continue
            meta = record.asset_materialization.metadata
            rows[partition] = {
                "audio_id": partition, "status": "done", "at": record.timestamp,
                **{k: meta[k].value for k in FILE_FIELDS if k in meta},
            }
        if not page.has_more:
            return list(rows.values())
        cursor = page.cursor


def _failed_rows(instance: dg.DagsterInstance) -> list[dict]:
    """Files whose latest run of the transcription job failed, with the reason `status` gives."""
    from ..definitions import JOB_NAME  # definitions imports this module

    latest: dict[str, dg.RunRecord] = {}
    for record in instance.get_run_records(filters=dg.RunsFilter(job_name=JOB_NAME)):  # newest first
        partition = record.dagster_run.tags.get(PARTITION_TAG)
        if partition and partition not in latest:
            latest[partition] = record
    return [
        {
            "audio_id": partition, "status": "failed", "reason": failure_reason(instance, r.dagster_run.run_id),
            "at": r.end_time or r.update_timestamp.timestamp(),
        }
        for partition, r in latest.items()
        if r.dagster_run.status == dg.DagsterRunStatus.FAILURE
    ]


def _rejected_rows() -> list[dict]:
    """Files intake put in quarantine, with their reason."""
    return [
        {"audio_id": q["audio_id"], "status": "rejected", "reason": q.get("reason"), "at": q.get("at", 0)}
        for q in quarantined(get_settings())
    ]


@dg.asset(
    deps=["transcript"],
    group_name="stats",
    kinds={"parquet"},
    io_manager_key=PARQUET,
    automation_condition=STATS_CONDITION,
)
def processing_stats(context: dg.AssetExecutionContext) -> dg.Output[pa.Table]:
    """Every file's outcome in one table (p50/p95 real-time factor, minutes per day, failures); reads no audio."""
    table = stats_table(_done_rows(context.instance) + _failed_rows(context.instance) + _rejected_rows())
    frame = table.to_pandas()
    summary = summarize(frame)
    return dg.Output(
        table,
        metadata={
            "plot": dg.MetadataValue.md(markdown_image(stats_png(frame), "processing stats")),
            **{k: summary[k] for k in ("files", "done", "failed", "rejected")},
            **{k: summary[k] for k in ("p50_rtf", "p95_rtf") if summary[k] is not None},
            **{k: dg.MetadataValue.json(summary[k]) for k in
               ("audio_minutes_per_day", "failures_by_reason", "rejections_by_reason", "speakers_per_file")},
        },
    )


def build_stats_sensor(interval_s: int) -> dg.AutomationConditionSensorDefinition:
    """Evaluates `processing_stats`'s automation condition every `interval_s` seconds; on by default."""
    return dg.AutomationConditionSensorDefinition(
        f"{STATS_ASSET}_automation",
        target=dg.AssetSelection.assets(STATS_ASSET),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=interval_s,
        description="Refreshes processing_stats once new transcripts have landed.",
    )
