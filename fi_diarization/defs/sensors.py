"""The inbox sensor: waits for files to stop growing, adds partitions, requests runs."""

import json

import dagster as dg

from ..audio.ids import shown_name
from ..audio.intake import accept, quarantine
from ..audio.probe import RejectedAudio
from ..options import RunOptions
from ..settings import get_settings
from ..store import is_local, local_file, remove
from ..tags import run_tags
from .config import run_config_for
from .partitions import audio_files

__all__ = ["build_inbox_sensor", "run_key_for"]


def run_key_for(audio_id: str, options: RunOptions) -> str:
    """One run per content hash and options: the same bytes never start a second run."""
    return f"{audio_id}:{options.fingerprint()}"


def build_inbox_sensor(job, interval_s: int) -> dg.SensorDefinition:
    """The inbox sensor for `job`, checking every `interval_s` seconds."""

    @dg.sensor(
        job=job,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Picks up audio dropped in FI_DIARIZATION_HOME/inbox once it has stopped growing.",
    )
    def inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        settings = get_settings()
        settings.ensure_dirs()
        seen = json.loads(context.cursor) if context.cursor else {}
        waiting: dict[str, list[int]] = {}
        new_ids: list[str] = []
        requests: list[dg.RunRequest] = []
        config = RunOptions()
        for path in sorted(settings.inbox.iterdir()):
            if path.name.startswith("."):  # `submit` copies under a hidden name, then renames
                continue
            try:
                st = path.lstat() if is_local(path) else path.stat()
            except FileNotFoundError:
                continue
            signature = [st.st_size, st.st_mtime_ns]
            if seen.get(path.name) != signature:
                waiting[path.name] = signature  # still growing, or first sight: look again next tick
                continue
            try:
                # An object in an inbox prefix is probed and stored from a local copy, then deleted.
                with local_file(path) as local:
                    try:
                        accepted = accept(settings, local, move=True)
                    except RejectedAudio as err:
                        accepted = None
                        context.log.warning(f"rejected {shown_name(path.name)} as {quarantine(settings, local, str(err))}: {err}")
                if not is_local(path):
                    remove(path)  # taken in or quarantined: the copy is where it belongs
            except OSError as err:  # unreadable now (permissions, vanished): left in place, tried again
                context.log.error(f"could not take in {shown_name(path.name)}: {err.strerror or err}")
                continue
            if accepted is None:
                continue
            if not accepted.new:
                context.log.info(f"{shown_name(path.name)} has the same bytes as {accepted.audio_id}: nothing to do")
                continue
            new_ids.append(accepted.audio_id)
            requests.append(
                dg.RunRequest(
                    partition_key=accepted.audio_id,
                    run_key=run_key_for(accepted.audio_id, config),
                    run_config=run_config_for(config),
                    tags=run_tags(accepted.audio_id, config.fingerprint(), "sensor"),
                )
            )
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[audio_files.build_add_request(new_ids)] if new_ids else [],
            cursor=json.dumps(waiting, sort_keys=True),
        )

    return inbox_sensor
