"""The run's resources: where Whisper runs and which Ollama server labels roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from ..roles.ollama import OllamaChat
from ..speech.models import LoadedModel, cpu_threads, load_model, resolve_compute_type, resolve_device

__all__ = ["WhisperResource", "OllamaResource"]


class WhisperResource(dg.ConfigurableResource):
    """Where and how faster-whisper runs; models load once per process."""

    device: str = "auto"
    compute_type: str = "auto"
    cpu_threads: int = 0
    # Chunks per BatchedInferencePipeline call; also what a killed run can lose at most.
    batch_size: int = 8

    def resolved_device(self) -> str:
        return resolve_device(self.device)

    def resolved_compute_type(self, device: str) -> str:
        return resolve_compute_type(self.compute_type, device)

    def threads(self) -> int:
        return cpu_threads(self.cpu_threads)

    def load(self, spec: str) -> LoadedModel:
        """Load (or reuse) the model for `spec` in this process."""
        return load_model(spec, self.device, self.compute_type, self.cpu_threads)


class OllamaResource(dg.ConfigurableResource, OllamaChat):
    """Ollama chat client with JSON-schema output (`roles.ollama.OllamaChat` as a resource)."""

    def chat_json(self, messages: list[dict], schema: dict, validate: Callable[[dict], Any] | None = None) -> Any:
        return OllamaChat.chat_json(self, messages, schema, validate, log=dg.get_dagster_logger())
