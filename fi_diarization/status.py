"""Where each audio id stands, read from the Dagster instance, the store and quarantine."""

import os
import shutil
import socket

import dagster as dg

from .audio.intake import rejection
from .defs.partitions import audio_files
from .results import result_meta
from .settings import DEFAULT_HOME, PROJECT_ROOT, Settings
from .store import is_local
from .tags import HOST_TAG, PARTITION_TAG, PID_TAG

__all__ = ["open_instance", "reap_orphans", "failure_reason", "audio_status", "known_audio_ids"]

_QUEUED = {dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING}
_RUNNING = {dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING}


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """The project's instance: `DAGSTER_HOME`, else a folder under the data root with our dagster.yaml."""
    if not os.environ.get("DAGSTER_HOME"):
        # Dagster's instance folder is local; with the data in an object store it goes to the default root.
        home = (settings.home if is_local(settings.home) else DEFAULT_HOME) / "dagster"
        home.mkdir(parents=True, exist_ok=True)
        config = PROJECT_ROOT / "dagster.yaml"
        if config.is_file() and not (home / "dagster.yaml").exists():
            shutil.copyfile(config, home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(instance: dg.DagsterInstance) -> list[str]:
    """Fail CLI runs whose process died (SIGKILL, power cut) and free their pool slots.

    Without this a killed run stays STARTED and keeps its `whisper` slot, so the next run
    would wait for it forever.
    """
    reaped = []
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=list(_RUNNING | _QUEUED), tags={HOST_TAG: socket.gethostname()}))
    for run in runs:
        pid = run.tags.get(PID_TAG)
        if pid and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            instance.report_run_failed(run, message=f"process {pid} died while running this run")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            reaped.append(run.run_id)
    return reaped


def failure_reason(instance: dg.DagsterInstance, run_id: str) -> str:
    """The first line of the error that failed a run."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
        data = record.event_log_entry.dagster_event.step_failure_data
        if data and data.error:
            # Dagster wraps what an op or an IO manager raised (step execution, handle output, load input).
            error = data.error.cause if data.error.cls_name.startswith("DagsterExecution") and data.error.cause else data.error
            lines = [x.strip() for x in error.message.strip().splitlines() if x.strip()]
            line = lines[0]
            if line.endswith(":") and len(lines) > 1:  # a blocking check names itself on the next lines
                line = f"{line} {', '.join(lines[1:])}"
            head, sep, rest = line.partition(": ")
            return rest if sep and head.rsplit(".", 1)[-1] == error.cls_name else line
    # A run worker that died (SIGKILL, OOM): the code server says how, in an engine event.
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
        message = record.event_log_entry.message or ""
        at = message.find("Run execution process for ")  # after a "[DagsterApiServer] " prefix
        if at >= 0:
            return message[at:].split(". ")[0].removesuffix(".")
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records:
        return (record.event_log_entry.message or "run failed").strip().splitlines()[0]
    return "run failed"


def audio_status(instance: dg.DagsterInstance, settings: Settings, audio_id: str) -> str:
    """queued / running / done / failed: reason / rejected: reason / unknown."""
    reason = rejection(settings, audio_id)
    if reason:
        return f"rejected: {reason}"
    if any(p.stem == audio_id for p in settings.inbox.glob(f"{audio_id}.*")):
        return "queued"
    runs = instance.get_runs(filters=dg.RunsFilter(tags={PARTITION_TAG: audio_id}), limit=1)
    if runs:
        run = runs[0]
        if run.status in _QUEUED:
            return "queued"
        if run.status in _RUNNING:
            return "running"
        if run.status != dg.DagsterRunStatus.SUCCESS:
            return f"failed: {failure_reason(instance, run.run_id)}"
    meta = result_meta(audio_id, settings)
    if meta is not None:
        return f"done ({meta.roles_reason})" if meta.roles_reason else "done"
    if instance.has_dynamic_partition(audio_files.name, audio_id):
        return "queued"
    return "unknown"


def known_audio_ids(settings: Settings) -> list[str]:
    """Every id in the store, in quarantine, or waiting in the inbox under its id."""
    ids = {p.stem for p in settings.audio_dir.glob("*.json")}
    ids |= {p.name[: -len(".reason.json")] for p in settings.quarantine.glob("*.reason.json")}
    return sorted(ids)


