"""Wall seconds of each stage that made a partition, from Dagster's own step records."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

__all__ = ["stage_seconds"]


def stage_seconds(instance: dg.DagsterInstance, partition: str, assets: Iterable[str]) -> dict[str, float]:
    """Seconds each asset's steps took in the run that made its latest materialization of `partition`.

    Read from the materialization's own run, so a run re-executed from failure, or one asset
    re-materialized alone, still reports the stages that made the inputs. A graph asset's time
    spans all of its ops (plan, fan-out, merge). An asset with no record is left out.
    """
    made_by: dict[str, tuple[str, str]] = {}
    for asset in assets:
        found = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
        ).records
        if found and found[0].run_id and found[0].event_log_entry.step_key:
            # A graph asset's step is "<graph>.<op>": its node is the part before the dot.
            made_by[asset] = (found[0].run_id, found[0].event_log_entry.step_key.split(".")[0])
    step_stats = {run_id: instance.get_run_step_stats(run_id) for run_id in {r for r, _ in made_by.values()}}
    seconds = {}
    for asset, (run_id, node) in made_by.items():
        steps = [
            s for s in step_stats[run_id]
            if (s.step_key == node or s.step_key.startswith(node + ".")) and s.start_time and s.end_time
        ]
        if steps:
            seconds[asset] = round(max(s.end_time for s in steps) - min(s.start_time for s in steps), 3)
    return seconds
