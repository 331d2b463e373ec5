"""The code location: every definition under `defs/`, wired into one `dg.Definitions`."""

import dagster as dg

from .defs.audio import audio
from .defs.checks import TRANSCRIPT_CHECKS
from .defs.chunks import chunks
from .defs.io_manager import PARQUET, ParquetIOManager
from .defs.k8s import k8s_executor
from .defs.partitions import audio_files
from .defs.resources import OllamaResource, WhisperResource
from .defs.roles import speaker_roles
from .defs.sensors import build_inbox_sensor
from .defs.speakers import speaker_segments, speaker_turns
from .defs.stats import build_stats_sensor, processing_stats
from .defs.transcript import transcript
from .defs.transcription import transcription
from .event_log import hold_pool_slots
from .settings import apply_env_defaults, get_settings

JOB_NAME = "transcribe_audio"


def _executor() -> dg.ExecutorDefinition:
    # On a CPU one process with one loaded model beats a process (and a model load) per
    # step; a GPU host with pools above 1 sets FI_EXECUTOR=multiprocess, a Kubernetes
    # cluster FI_EXECUTOR=k8s (a pod per step, the whisper ops on GPU nodes).
    executor = get_settings().executor
    if executor == "multiprocess":
        # forkserver with the code location and faster-whisper preloaded: each step process
        # forks from it instead of importing Dagster and the project again (spawn, the default).
        preload = ["fi_diarization.definitions", "faster_whisper"]
        return dg.multiprocess_executor.configured(
            {"start_method": {"forkserver": {"preload_modules": preload}}}, name="multiprocess"
        )
    if executor == "k8s":
        return k8s_executor()
    return dg.in_process_executor


def build_definitions() -> dg.Definitions:
    """Build the definitions from the current environment."""
    apply_env_defaults()
    hold_pool_slots()  # every process that claims pool slots loads this module
    settings = get_settings()
    assets = [audio, chunks, transcription, speaker_turns, speaker_segments, speaker_roles, transcript]
    job = dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.assets(*assets),
        partitions_def=audio_files,
        executor_def=_executor(),
        description="Transcribe one audio file end to end.",
    )
    return dg.Definitions(
        assets=[*assets, processing_stats],
        asset_checks=TRANSCRIPT_CHECKS,
        jobs=[job],
        sensors=[build_inbox_sensor(job, settings.sensor_interval_s), build_stats_sensor(settings.sensor_interval_s)],
        resources={
            "whisper": WhisperResource(
                device=dg.EnvVar("WHISPER_DEVICE"),
                compute_type=dg.EnvVar("WHISPER_COMPUTE_TYPE"),
                batch_size=dg.EnvVar.int("WHISPER_BATCH_SIZE"),
            ),
            "ollama": OllamaResource(host=dg.EnvVar("OLLAMA_HOST"), model=dg.EnvVar("OLLAMA_MODEL")),
            PARQUET: ParquetIOManager(),
        },
    )


defs = build_definitions()


def transcribe_job() -> dg.JobDefinition:
    """The job, for `dg.reconstructable` (the CLI runs it in the project's instance)."""
    return defs.resolve_job_def(JOB_NAME)
