"""Environment variables, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "get_settings", "PROJECT_ROOT", "SAMPLE_AUDIO"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AUDIO = Path(__file__).resolve().parent / "samples" / "consult_sample.wav"

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
DEFAULT_OLLAMA_MODEL = "qwen2.5:7b-instruct-q4_0"
DEFAULT_MAX_AUDIO_SECONDS = 14400.0


@dataclass(frozen=True)
class Settings:
    """Paths and model choices for one process."""

    home: Path
    max_audio_seconds: float
    whisper_model: str
    whisper_device: str
    whisper_compute_type: str
    ollama_host: str
    ollama_model: str
    sensor_interval_s: int

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

    def ensure_dirs(self) -> None:
        for path in (self.inbox, self.audio_dir, self.quarantine, self.storage, self.cache):
            path.mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    """Read the environment now (tests change it between calls)."""
    env = os.environ
    home = Path(env.get("FI_DIARIZATION_HOME") or Path.home() / ".fi-diarization").expanduser()
    return Settings(
        home=home.resolve(),
        max_audio_seconds=float(env.get("FI_MAX_AUDIO_SECONDS") or DEFAULT_MAX_AUDIO_SECONDS),
        whisper_model=env.get("WHISPER_MODEL") or "",
        whisper_device=env.get("WHISPER_DEVICE") or "auto",
        whisper_compute_type=env.get("WHISPER_COMPUTE_TYPE") or "auto",
        ollama_host=env.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST,
        ollama_model=env.get("OLLAMA_MODEL") or DEFAULT_OLLAMA_MODEL,
        sensor_interval_s=int(env.get("FI_SENSOR_INTERVAL_S") or 10),
    )
