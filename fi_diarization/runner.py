"""Run the transcription job for one partition in this process, as the CLI does."""

import logging
import os
import socket
import sys
import threading
import uuid
from dataclasses import dataclass, field

import dagster as dg

from .defs.config import run_config_for
from .defs.partitions import audio_files
from .options import RunOptions
from .results import result_meta
from .status import failure_reason, reap_orphans
from .tags import FINGERPRINT_TAG, HOST_TAG, INVOCATION_TAG, PARTITION_TAG, PID_TAG, run_tags

__all__ = ["Outcome", "run_partition"]


@dataclass
class Outcome:
    """How one run ended."""

    success: bool
    run_id: str | None
    reason: str = ""
    notices: list[str] = field(default_factory=list)


def _progress(instance: dg.DagsterInstance, invocation: str, stop: threading.Event) -> None:
    """Print each step as it starts, and the ops' own log lines, until `stop` is set."""
    from rich.console import Console
    from rich.text import Text

    # Plain lines rather than a live spinner: a redraw thread starves while the models
    # hold both cores, and lines also survive being scrolled back.
    console = Console(stderr=True, highlight=False)
    run_id, cursor = None, None
    while True:
        finished = stop.is_set()  # read once more after the run ends, then stop
        if run_id is None:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={INVOCATION_TAG: invocation}), limit=1)
            run_id = runs[0].run_id if runs else None
        if run_id is not None:
            conn = instance.get_records_for_run(run_id, cursor=cursor, limit=500)
            cursor = conn.cursor
            for record in conn.records:
                entry = record.event_log_entry
                if entry.dagster_event is None and entry.level >= logging.INFO and entry.user_message:
                    console.print(Text(f"  {entry.step_key}: {entry.user_message}", style="dim"), soft_wrap=True)
                elif entry.dagster_event and entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                    console.print(Text.assemble(("▸ ", "cyan"), entry.step_key or ""))
        if finished:
            return
        stop.wait(0.3)


def _failed_parent(instance: dg.DagsterInstance, audio_id: str, fingerprint: str) -> dg.DagsterRun | None:
    """The latest run of this partition, when it failed with the same options."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={PARTITION_TAG: audio_id}), limit=1)
    if runs and runs[0].status == dg.DagsterRunStatus.FAILURE and runs[0].tags.get(FINGERPRINT_TAG) == fingerprint:
        return runs[0]
    return None


def run_partition(
    instance: dg.DagsterInstance, audio_id: str, config: RunOptions, *, source: str, verbose: bool = False
) -> Outcome:
    """Materialize every asset of `audio_id` through the `transcribe_audio` job.

    Args:
      instance: The project's Dagster instance.
      audio_id: A partition key whose audio is in the store.
      config: The run options (the same ones the UI and the sensor pass).
      source: Recorded in the run's tags (`cli`, `test`, …).
      verbose: Let Dagster's console logger print its lines.

    Returns:
      Whether the run succeeded, and why not.
    """
    from .definitions import transcribe_job

    reap_orphans(instance)
    parent = _failed_parent(instance, audio_id, config.fingerprint())
    if not instance.has_dynamic_partition(audio_files.name, audio_id):
        instance.add_dynamic_partitions(audio_files.name, [audio_id])
    invocation = uuid.uuid4().hex
    tags = {
        **run_tags(audio_id, config.fingerprint(), source),
        PARTITION_TAG: audio_id,
        PID_TAG: str(os.getpid()),
        HOST_TAG: socket.gethostname(),
        INVOCATION_TAG: invocation,
    }
    run_config = run_config_for(config).to_config_dict()
    if not verbose:
        run_config["loggers"] = {"console": {"config": {"log_level": "ERROR"}}}
    stop = threading.Event()
    watcher = None
    if sys.stderr.isatty():
        watcher = threading.Thread(target=_progress, args=(instance, invocation, stop), daemon=True)
        watcher.start()
    try:
        # After a crash, re-execute from failure: finished steps are loaded, not recomputed.
        reexecution = dg.ReexecutionOptions.from_failure(parent.run_id, instance) if parent else None
        result = dg.execute_job(
            dg.reconstructable(transcribe_job),
            instance=instance,
            run_config=run_config,
            tags=tags,
            reexecution_options=reexecution,
        )
    finally:
        stop.set()
        if watcher:
            watcher.join(timeout=5)
    if not result.success:
        return Outcome(False, result.run_id, failure_reason(instance, result.run_id))
    meta = result_meta(audio_id)
    return Outcome(True, result.run_id, notices=meta.notices() if meta else [])
