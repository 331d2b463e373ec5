"""Environment variables, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "get_settings", "apply_env_defaults", "PROJECT_ROOT", "SAMPLE_AUDIO"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AUDIO = Path(__file__).resolve().parent / "samples" / "consult_sample.wav"

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
DEFAULT_OLLAMA_MODEL = "qwen2.5:7b-instruct-q4_0"
DEFAULT_MAX_AUDIO_SECONDS = 14400.0


@dataclass(frozen=True)
class Settings:
    """Paths and limits for one process."""

    home: Path
    max_audio_seconds: float
    sensor_interval_s: int
    executor: str = "in_process"  # or "multiprocess" (FI_EXECUTOR)

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def audio_dir(self) -> Path:
        return self.home / "audio"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def storage(self) -> Path:
        return self.home / "storage"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    @property
    def samples(self) -> Path:
        return self.home / "samples"

    def samples_file(self, sha256: str) -> Path:
        """Where the decoded samples of these bytes live (content-addressed)."""
        return self.samples / f"{sha256}.f32"

    def ensure_dirs(self) -> None:
        for path in (self.inbox, self.audio_dir, self.quarantine, self.storage, self.cache, self.samples):
            path.mkdir(parents=True, exist_ok=True)


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


def get_settings() -> Settings:
    """Read the environment now (tests change it between calls)."""
    env = os.environ
    home = Path(env.get("FI_DIARIZATION_HOME") or Path.home() / ".fi-diarization").expanduser()
    return Settings(
        home=home.resolve(),
        max_audio_seconds=float(env.get("FI_MAX_AUDIO_SECONDS") or DEFAULT_MAX_AUDIO_SECONDS),
        sensor_interval_s=int(env.get("FI_SENSOR_INTERVAL_S") or 10),
        executor=env.get("FI_EXECUTOR") or "in_process",
    )
