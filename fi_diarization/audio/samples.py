"""Decode once: the original becomes 16 kHz mono float32 samples on disk, read back as windows.

The `audio` asset writes `samples/<sha256>.f32` (raw little-endian float32) beside the audio
store; every later stage maps that file instead of decoding the container again, in whatever
process or container it runs. Decoding streams frame groups to the file, so memory stays flat
whatever the duration. On an object store each machine maps its own copy, downloaded once
into `FI_LOCAL_CACHE` (the name is the content hash, so a copy is never stale).
"""

from __future__ import annotations

import functools
import mmap
from dataclasses import dataclass

import numpy as np

from ..settings import get_settings
from ..store import (
    AnyPath,
    as_path,
    atomic_path,
    cached_local_copy,
    copy_atomic,
    exclusive,
    is_local,
    local_cache_path,
    local_file,
)

__all__ = ["SAMPLE_RATE", "VadSettings", "decode_to_file", "ensure_samples", "load_samples", "window", "voiced_regions"]

SAMPLE_RATE = 16000
_DTYPE = np.dtype("<f4")
_VAD_BLOCK_S = 600.0  # Silero runs on blocks this long, so a long file never holds copies of all of it
_VAD_OVERLAP_S = 30.0
_FAULT_AROUND = 2 * 1024 * 1024  # the most a page fault maps around itself (a 2 MiB folio)


def decode_to_file(src: AnyPath, dest: AnyPath, demuxer: str | None = None) -> int:
    """Decode `src` to float32 mono 16 kHz samples in `dest` (written atomically); returns the count.

    The same resampling as `faster_whisper.decode_audio` (s16 mono at 16 kHz, then /32768),
    streamed: each group of frames is written as soon as it is resampled. `demuxer` is the one
    the probe chose from the magic bytes; only local files are opened (a remote original is
    downloaded first). A remote `dest` is decoded into this machine's cache and uploaded from there.
    """
    import av
    from faster_whisper.audio import _group_frames, _ignore_invalid_frames, _resample_frames

    target = dest if is_local(dest) else local_cache_path(dest, get_settings().local_cache)
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    count = 0
    with local_file(src) as local, atomic_path(target) as tmp, tmp.open("wb") as out:
        options = {"protocol_whitelist": "file"}
        with av.open(str(local), mode="r", format=demuxer, options=options, metadata_errors="ignore") as container:
            frames = _resample_frames(_group_frames(_ignore_invalid_frames(container.decode(audio=0)), 500000), resampler)
            for frame in frames:
                pcm = frame.to_ndarray().reshape(-1)
                out.write((pcm.astype(np.float32) / 32768.0).astype(_DTYPE).tobytes())
                count += len(pcm)
    if target is not dest:
        copy_atomic(target, dest)
    return count


def ensure_samples(src: AnyPath, dest: AnyPath, demuxer: str | None = None) -> int:
    """`dest`'s sample count, decoding `src` into it first unless it is there (one decode per file).

    Content-addressed and written atomically, a present `dest` is whole; the lock makes a
    second run of the same file wait for the first one's decode.
    """
    with exclusive(dest):
        if dest.is_file():
            return dest.stat().st_size // _DTYPE.itemsize
        return decode_to_file(src, dest, demuxer)


def load_samples(path: str | AnyPath) -> np.ndarray:
    """The decoded samples, memory-mapped read-only (an empty array for an empty file).

    Read them with `window`, which hands the pages it read back; a plain slice keeps them mapped.
    """
    path = cached_local_copy(as_path(path), get_settings().local_cache)
    return _mapped(str(path), path.stat().st_size)


@functools.lru_cache(maxsize=2)
def _mapped(path: str, size: int) -> np.ndarray:
    # One mapping of a file per process, shared by every stage and thread (read-only): each new
    # mapping counted the pages it touched in the RSS again, and with the speaker stage beside
    # Whisper two or three mappings of an hour's 230 MB were alive at once.
    if size == 0:
        return np.zeros(0, dtype=np.float32)
    with open(path, "rb") as file:
        return np.frombuffer(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ), dtype=_DTYPE)


def window(samples: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """A copy of `samples[lo:hi]`; from a mapped samples file, the pages read leave this process.

    Every stage reads the file window by window, and a mapped page once read stayed in the
    process's RSS: an hour's run peaked at 1355 MiB, 348 of them file pages (the samples' 230 MB
    among them), against 1135 MiB for five minutes. Handed back (`MADV_DONTNEED`), a page stays
    in the page cache, and a later read maps it again without touching the disk.
    """
    piece = np.array(samples[lo:hi])
    mapped = samples.base.obj if isinstance(samples.base, memoryview) else None  # `_mapped`'s arrays
    if isinstance(mapped, mmap.mmap) and hi > lo:
        # A page fault maps its neighbours too: 64 KiB around it, or its whole folio, up to 2 MiB
        # for a file this process has just written (ext4's large folios). Released with the
        # window, or thousands of short region reads leave them behind (115-138 MB of an hour).
        start = max(0, lo * _DTYPE.itemsize - _FAULT_AROUND) // mmap.PAGESIZE * mmap.PAGESIZE
        end = min(len(mapped), hi * _DTYPE.itemsize + _FAULT_AROUND)
        mapped.madvise(mmap.MADV_DONTNEED, start, end - start)
    return piece


@dataclass(frozen=True)
class VadSettings:
    """Silero VAD settings of one stage; each stage keeps its own beside the code that uses it."""

    min_silence_ms: int  # shortest silence that separates two regions
    speech_pad_ms: int  # padding added on both sides of each region
    max_speech_s: float = float("inf")  # longer regions are split, at a silence where there is one
    threshold: float = 0.5  # speech probability that starts a region (Silero's default)

    def options(self):
        """These settings as faster-whisper's `VadOptions`."""
        from faster_whisper.vad import VadOptions

        return VadOptions(
            threshold=self.threshold,
            min_silence_duration_ms=self.min_silence_ms,
            speech_pad_ms=self.speech_pad_ms,
            max_speech_duration_s=self.max_speech_s,
        )


def voiced_regions(audio: np.ndarray, vad: VadSettings) -> list[tuple[float, float]]:
    """Speech regions in seconds from faster-whisper's Silero VAD.

    Runs on blocks of ten minutes that overlap by 30 s (a region crossing a block edge is
    taken from the block where it lies whole), so memory does not grow with the file. The
    model runs once per block whatever the settings (`audio.vad`): the stages that ask after
    the first read its probabilities.

    Args:
      audio: Mono float32 samples at 16 kHz (an array or a memory map).
      vad: The stage's VAD settings.

    Returns:
      `(start, end)` pairs in time order.
    """
    from .vad import speech_probabilities, speech_timestamps

    options = vad.options()

    def speech(block: np.ndarray) -> list[dict]:
        return speech_timestamps(speech_probabilities(block), len(block), options)

    block, overlap = int(_VAD_BLOCK_S * SAMPLE_RATE), int(_VAD_OVERLAP_S * SAMPLE_RATE)
    n = len(audio)
    if n <= block + overlap:
        return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in speech(window(audio, 0, n))]
    regions: list[tuple[int, int]] = []
    lo = 0
    while True:
        hi = min(n, lo + block + overlap)
        last = hi >= n
        next_lo = lo + block
        for r in speech(window(audio, lo, hi)):
            start, end = lo + r["start"], lo + r["end"]
            if regions and start < regions[-1][1]:
                continue  # already taken from the previous block
            if not last and end > lo + block and start > lo:
                next_lo = start  # runs past this block's own part: the next block starts here
                break
            regions.append((start, end))
        if last:
            break
        lo = next_lo
    return [(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in regions]
