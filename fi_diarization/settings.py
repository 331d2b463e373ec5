"""Environment variables, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .store import AnyPath, as_path, is_local

__all__ = ["Settings", "DataRootError", "get_settings", "apply_env_defaults", "data_root", "PROJECT_ROOT", "SAMPLE_AUDIO"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AUDIO = Path(__file__).resolve().parent / "samples" / "consult_sample.wav"

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
DEFAULT_OLLAMA_MODEL = "qwen2.5:7b-instruct-q4_0"
DEFAULT_MAX_AUDIO_SECONDS = 14400.0
DEFAULT_HOME = Path.home() / ".fi-diarization"


class DataRootError(OSError):
    """The data root cannot be used (a bucket that is not there or not readable)."""


@dataclass(frozen=True)
class Settings:
    """Paths and limits for one process; `home` is a local folder or an object-store UPath."""

    home: AnyPath
    max_audio_seconds: float
    sensor_interval_s: int
    local_cache: Path  # this machine's copies of objects that never change
    executor: str = "in_process"  # or "multiprocess" (FI_EXECUTOR)
    overlap: bool = True  # in-process runs find speaker turns beside Whisper (FI_OVERLAP)

    @property
    def inbox(self) -> AnyPath:
        return self.home / "inbox"

    @property
    def audio_dir(self) -> AnyPath:
        return self.home / "audio"

    @property
    def quarantine(self) -> AnyPath:
        return self.home / "quarantine"

    @property
    def storage(self) -> AnyPath:
        return self.home / "storage"

    @property
    def cache(self) -> AnyPath:
        return self.home / "cache"

    @property
    def samples(self) -> AnyPath:
        return self.home / "samples"

    def samples_file(self, sha256: str) -> AnyPath:
        """Where the decoded samples of these bytes live (content-addressed)."""
        return self.samples / f"{sha256}.f32"

    def ensure_dirs(self) -> None:
        """Make the folders; on an object store, check that its bucket is there."""
        if is_local(self.home):
            for path in (self.inbox, self.audio_dir, self.quarantine, self.storage, self.cache, self.samples):
                path.mkdir(parents=True, exist_ok=True)
            return
        # An object store has no folders (a prefix exists once an object is under it), but
        # writing into a bucket that is not there fails late and deep in a run.
        bucket = self.home.path.split("/", 1)[0]
        try:
            found = self.home.fs.exists(bucket)
        except OSError as err:
            raise DataRootError(f"FI_DIARIZATION_HOME={self.home}: {err}") from None
        if not found:
            raise DataRootError(
                f"FI_DIARIZATION_HOME={self.home}: bucket {bucket!r} does not exist or these credentials cannot see it"
            )


# Defaults of the variables that resources read through `dg.EnvVar` at run time.
ENV_DEFAULTS = {
    "OLLAMA_HOST": DEFAULT_OLLAMA_HOST,
    "OLLAMA_MODEL": DEFAULT_OLLAMA_MODEL,
    "WHISPER_DEVICE": "auto",
    "WHISPER_COMPUTE_TYPE": "auto",
    "WHISPER_BATCH_SIZE": "8",
}


def apply_env_defaults() -> None:
    """Give unset variables the spec's defaults, so `dg.EnvVar` always resolves."""
    for key, value in ENV_DEFAULTS.items():
        if not os.environ.get(key):
            os.environ[key] = value


def data_root(location: str | os.PathLike | AnyPath) -> AnyPath:
    """A data root: a local folder (made absolute) or an object-store URL such as s3://bucket/prefix."""
    home = as_path(location)
    return home.resolve() if is_local(home) else home


def get_settings() -> Settings:
    """Read the environment now (tests change it between calls).

    `FI_DIARIZATION_HOME` is a folder or a URL that fsspec opens (`s3://bucket/prefix`; S3
    access comes from the standard `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
    `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`). `FI_LOCAL_CACHE` is where objects that
    never change (decoded samples, stored originals) are kept on this machine for reading.
    """
    env = os.environ
    return Settings(
        home=data_root(env.get("FI_DIARIZATION_HOME") or DEFAULT_HOME),
        max_audio_seconds=float(env.get("FI_MAX_AUDIO_SECONDS") or DEFAULT_MAX_AUDIO_SECONDS),
        sensor_interval_s=int(env.get("FI_SENSOR_INTERVAL_S") or 10),
        local_cache=Path(env.get("FI_LOCAL_CACHE") or Path.home() / ".cache" / "fi-diarization" / "objects").expanduser(),
        executor=env.get("FI_EXECUTOR") or "in_process",
        overlap=(env.get("FI_OVERLAP") or "1") != "0",
    )
