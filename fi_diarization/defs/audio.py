"""The validated-audio asset: the stored file, what intake learnt of it, its samples, the options."""

import dagster as dg
import pyarrow as pa

from .. import background
from ..audio.intake import find_audio, intake_record
from ..audio.probe import AudioInfo, probe, sha256_file
from ..audio.samples import SAMPLE_RATE, ensure_samples
from ..settings import get_settings
from ..store import local_file
from .config import TranscriptionConfig
from .io_manager import PARQUET
from .partitions import audio_files
from .resources import WhisperResource
from .speakers import start_beside_whisper

__all__ = ["audio", "AUDIO_SCHEMA"]

# Longer files find their speakers after Whisper, as FI_OVERLAP=0 does: beside Whisper the
# speaker stage's buffers add to Whisper's. Measured at 60 minutes since reads hand the samples'
# pages back (`audio.samples.window`): beside, 167.8 / 183.2 s and a 1310-1312 MiB peak; in turn,
# 208.6 / 204.4 s and 1082-1173 MiB (5 minutes: 1128-1168 MiB; the bound is 1.2x that and
# 1.5 GB). Before that the hour peaked at 1.60-1.67 GB beside Whisper, and this was 30 minutes.
_OVERLAP_MAX_S = 60 * 60

AUDIO_SCHEMA = pa.schema(
    [
        ("audio_id", pa.string()),
        ("path", pa.string()),
        ("sha256", pa.string()),
        ("container", pa.string()),
        ("codec", pa.string()),
        ("sample_rate", pa.int64()),
        ("channels", pa.int64()),
        ("duration_s", pa.float64()),
        ("samples_path", pa.string()),
        ("n_samples", pa.int64()),
        ("options", pa.string()),
        ("fingerprint", pa.string()),
    ]
)


def _facts(settings, audio_id: str, path) -> tuple[str, dict]:
    """sha256 and probe as intake recorded them; probed and hashed only when no record fits."""
    record = intake_record(settings, audio_id) or {}
    probed = record.get("probe")
    if record.get("sha256") and probed and probed.get("size_bytes") == path.stat().st_size:
        return record["sha256"], probed
    with local_file(path) as local:
        info: AudioInfo = probe(local, settings.max_audio_seconds)
        return sha256_file(local), info.record()


@dg.asset(partitions_def=audio_files, group_name="transcription", kinds={"parquet"}, io_manager_key=PARQUET)
def audio(context: dg.AssetExecutionContext, config: TranscriptionConfig, whisper: WhisperResource) -> dg.Output[pa.Table]:
    """Validated audio decoded once to 16 kHz samples, with the run's options."""
    settings = get_settings()
    audio_id = context.partition_key
    path = find_audio(settings, audio_id)
    if path is None:
        raise dg.Failure(f"no stored audio for {audio_id} under {settings.audio_dir}")
    sha256, info = _facts(settings, audio_id, path)
    samples = settings.samples_file(sha256)
    n_samples = ensure_samples(path, samples, info["container"])
    if settings.executor == "in_process" and settings.overlap and float(info["duration_s"] or 0.0) <= _OVERLAP_MAX_S:
        # Every later step runs in this process: the Whisper model loads (~0.4 s) while the
        # chunk plan is made; the speaker stage goes beside Whisper instead of after it. Loaded
        # by the worker, the model's compute threads inherit its lowest priority, level with the
        # speaker stage: measured faster at 20 minutes (64 / 68 s) than a load at the default
        # priority (67 / 71 s), which starves that stage.
        background.start(f"whisper model {config.model}", whisper.load, config.model)
        start_beside_whisper(str(samples), config)
    row = {
        "audio_id": audio_id,
        "path": str(path),
        "sha256": sha256,
        **{k: info[k] for k in ("container", "codec", "sample_rate", "channels", "duration_s")},
        "samples_path": str(samples),
        "n_samples": n_samples,
        "options": config.model_dump_json(),
        "fingerprint": config.fingerprint(),
    }
    return dg.Output(
        pa.Table.from_pylist([row], schema=AUDIO_SCHEMA),
        metadata={
            "duration_s": info["duration_s"],
            "decoded_s": round(n_samples / SAMPLE_RATE, 3),
            "sample_rate": info["sample_rate"],
            "codec": info["codec"],
            "sha256": sha256,
            "model": config.model,
            "fingerprint": config.fingerprint(),
        },
    )
