"""The validated-audio asset: the file, what its container says, and the run's options."""

import dagster as dg
import pyarrow as pa

from .inbox import find_audio
from .options import TranscriptionConfig
from .io_manager import PARQUET
from .partitions import audio_files
from .probe import probe, sha256_file
from .settings import get_settings

__all__ = ["audio"]

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
        ("options", pa.string()),
        ("fingerprint", pa.string()),
    ]
)

@dg.asset(partitions_def=audio_files, group_name="transcription", kinds={"parquet"}, io_manager_key=PARQUET)
def audio(context: dg.AssetExecutionContext, config: TranscriptionConfig) -> dg.Output[pa.Table]:
    """Validated audio: decode probe, duration, sample rate, sha256 and the run's options."""
    settings = get_settings()
    config.validated()
    audio_id = context.partition_key
    path = find_audio(settings, audio_id)
    if path is None:
        raise dg.Failure(f"no stored audio for {audio_id} under {settings.audio_dir}")
    info = probe(path, settings.max_audio_seconds)
    sha256 = sha256_file(path)
    row = {
        "audio_id": audio_id,
        "path": str(path),
        "sha256": sha256,
        "container": info.container,
        "codec": info.codec,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "duration_s": info.duration_s,
        "options": config.model_dump_json(),
        "fingerprint": config.fingerprint(),
    }
    return dg.Output(
        pa.Table.from_pylist([row], schema=AUDIO_SCHEMA),
        metadata={
            "duration_s": info.duration_s,
            "sample_rate": info.sample_rate,
            "codec": info.codec,
            "sha256": sha256,
            "model": config.model,
            "fingerprint": config.fingerprint(),
        },
    )
