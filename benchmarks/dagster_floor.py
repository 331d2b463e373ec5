"""Dagster's own cost of one run: a job of no-op partitioned assets, run the way `transcribe` runs.

    .venv/bin/python benchmarks/dagster_floor.py STEPS

A cold process imports dagster, opens the instance (the project's dagster.yaml, SQLite), adds
a dynamic partition and executes the job in process, as `fi-diarization transcribe` does;
nothing else. `run.py` times it beside plain faster-whisper: what is left of the 30-second
file's wait once this and Whisper's own time are taken out is the project's.
"""

from __future__ import annotations

import os
import sys

import dagster as dg

files = dg.DynamicPartitionsDefinition(name="audio_files")


def chain(steps: int) -> list[dg.AssetsDefinition]:
    """`steps` no-op assets, each reading the one before (one step per asset, as ours)."""
    assets: list[dg.AssetsDefinition] = []
    for i in range(steps):
        deps = [assets[-1]] if assets else []

        @dg.asset(name=f"step_{i:02d}", partitions_def=files, deps=deps)
        def _noop() -> None:
            return None

        assets.append(_noop)
    return assets


def job() -> dg.JobDefinition:
    steps = int(os.environ["FLOOR_STEPS"])
    defs = dg.Definitions(
        assets=chain(steps),
        jobs=[dg.define_asset_job("floor", partitions_def=files, executor_def=dg.in_process_executor)],
    )
    return defs.resolve_job_def("floor")


def main() -> None:
    os.environ["FLOOR_STEPS"] = sys.argv[1]
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions(files.name, ["a"])
    result = dg.execute_job(
        dg.reconstructable(job),
        instance=instance,
        tags={"dagster/partition": "a"},
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    sys.stdout.flush()
    os._exit(0 if result.success else 1)  # as `fi-diarization`'s entry: no interpreter teardown


if __name__ == "__main__":
    main()
