"""Speaker embeddings of voiced windows: resemblyzer's encoder (as ONNX) behind a numpy mel front end."""

from __future__ import annotations

import ctypes
import functools
import threading

import numpy as np

from ..audio.samples import window
from ..speech.models import usable_cores
from .export_encoder import ENCODER_PATH

__all__ = [
    "SAMPLE_RATE",
    "WINDOW_S",
    "embed_cuts",
    "embed_windows",
    "hann",
    "mel_filters",
    "mel_spectrogram",
    "release_encoders",
    "voiced_gain",
]

SAMPLE_RATE = 16000
WINDOW_S = 1.6  # resemblyzer's partial utterance: 160 mel frames of 10 ms
_WINDOW_FRAMES = 160
_HOP = 160  # samples per mel frame
_N_FFT = 400  # 25 ms
_N_MELS = 40
_TARGET_DBFS = -30.0  # the level resemblyzer's own preprocess_wav normalises to
_QUIET_DB = 20.0  # windows this far below the median window level are dropped
_MIN_REGION_S = 0.4  # too little voice for a trustworthy embedding
# Windows per encoder call. onnxruntime keeps the LSTM's gates for the whole batch: 256 windows
# held ~240 MB and 64 hold ~58 MB, and 64 ran faster too (1.73 s vs 1.91 s for 256 windows, one
# thread); the embeddings are the same bits at any batch size (tested).
_BATCH = 64


@functools.cache
def mel_filters(n_fft: int = _N_FFT) -> np.ndarray:
    """Slaney's 40 mel filters at 16 kHz (librosa's default, resemblyzer's), ``[40, n_fft // 2 + 1]``.

    As faster-whisper computes them for Whisper: librosa's numbers to 1e-16, without librosa's lazy
    import (~1.6 s); faster-whisper is imported on the first call, not when Dagster loads the
    definitions (~0.1 s there).
    """
    from faster_whisper.feature_extractor import FeatureExtractor

    filters = FeatureExtractor.get_mel_filters(SAMPLE_RATE, n_fft, n_mels=_N_MELS)
    filters.setflags(write=False)  # one array for every caller
    return filters


def hann(n: int) -> np.ndarray:
    """A periodic Hann window of `n` points: the STFT window of the mel spectrogram here and of `resegment.mfcc`."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


_WINDOW = hann(_N_FFT)


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """Power mel spectrogram ``[frames, 40]``, as resemblyzer's `wav_to_mel_spectrogram` computes it.

    Written out because librosa's lazy `librosa.feature` import costs ~1.6 s on the first
    call of every process; a test holds this to librosa's numbers.
    """
    padded = np.pad(np.asarray(wav, dtype=np.float32), _N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    return (power @ mel_filters().T).astype(np.float32)


_encoders: dict[int, object] = {}
_encoder_lock = threading.Lock()


def _get_encoder(threads: int | None = None):
    """resemblyzer's pretrained encoder exported to ONNX (`export_encoder`), in onnxruntime.

    Measured here on 256 windows: 0.86 s against torch's 1.13 s (2 threads), equal to 1e-6;
    and a process no longer imports torch (~2.2 s, +230 MB) to embed voices.
    """
    threads = threads or usable_cores()
    with _encoder_lock:
        if threads not in _encoders:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            _encoders[threads] = onnxruntime.InferenceSession(str(ENCODER_PATH), options, providers=["CPUExecutionProvider"])
        return _encoders[threads]


def release_encoders() -> None:
    """Drop the cached encoder sessions and hand freed heap back to the system.

    After a 60-minute file's speaker stage the process still held 149 MB more than before it
    (measured alone, RssAnon): ~90 MB in the encoder session's memory arena and ~43 MB of
    freed heap glibc kept, which `malloc_trim` returns. Beside Whisper that stayed through the
    rest of the run, under each of Whisper's encoder peaks. A new session costs 0.05 s per file.
    A thread still embedding keeps its own session until it is done.
    """
    with _encoder_lock:
        _encoders.clear()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc: nothing to hand back this way
        pass


def _window_starts(n_frames: int, step: int) -> list[int]:
    if n_frames <= _WINDOW_FRAMES:
        return [0]
    starts = list(range(0, n_frames - _WINDOW_FRAMES + 1, step))
    # End-align a last window so the tail of the region is covered too.
    if starts[-1] != n_frames - _WINDOW_FRAMES:
        starts.append(n_frames - _WINDOW_FRAMES)
    return starts


def _share_inside(windows: list[tuple[int, int, int, int]], spans: list[tuple[float, float]]) -> np.ndarray:
    """The share of each window's audio that lies inside `spans`, to the mel frame (10 ms)."""
    end = max(lo + b for lo, _, _, b in windows) // _HOP + 1
    inside = np.zeros(end + 1)
    for a, b in spans:
        inside[max(0, int(a * SAMPLE_RATE) // _HOP) : max(0, int(b * SAMPLE_RATE) // _HOP)] = 1
    total = np.concatenate([[0.0], np.cumsum(inside)])
    first = np.array([(lo + a) // _HOP for lo, _, a, _ in windows])
    last = np.array([(lo + b) // _HOP for lo, _, _, b in windows])
    return (total[last] - total[first]) / np.maximum(last - first, 1)


def _pieces(audio: np.ndarray, regions: list[tuple[float, float]]) -> list[tuple[int, int]]:
    """The regions in samples, without those too short to embed (`_MIN_REGION_S`)."""
    pieces = []
    for start, end in regions:
        lo, hi = max(0, int(start * SAMPLE_RATE)), min(len(audio), int(end * SAMPLE_RATE))
        if hi - lo >= _MIN_REGION_S * SAMPLE_RATE:
            pieces.append((lo, hi))
    return pieces


def _gain(squares: float, count: int) -> float:
    # The encoder takes a linear (not log) mel spectrogram, so level matters: the voiced audio is
    # brought to the level resemblyzer was trained on.
    rms = float(np.sqrt(squares / count)) if count else 0.0
    return 10 ** (_TARGET_DBFS / 20) / rms if rms > 0 else 1.0


def voiced_gain(audio: np.ndarray, regions: list[tuple[float, float]]) -> float:
    """The gain `embed_windows` gives the audio of these regions."""
    squares, count = 0.0, 0
    for lo, hi in _pieces(audio, regions):
        piece = window(audio, lo, hi).astype(np.float64)
        squares, count = squares + float(np.sum(piece**2)), count + len(piece)
    return _gain(squares, count)


def _padded_mel(piece: np.ndarray) -> np.ndarray:
    # Audio shorter than a window is zero-padded to one, as resemblyzer pads a short utterance.
    return mel_spectrogram(np.pad(piece, (0, max(0, _WINDOW_FRAMES * _HOP - len(piece)))))


def embed_cuts(audio: np.ndarray, cuts: list[tuple[float, float]], gain: float, threads: int | None = None) -> np.ndarray:
    """Embeddings of spans no longer than a window, each zero-padded to one as `embed_windows` pads a short region.

    Args:
        audio: Mono float32 waveform at 16 kHz.
        cuts: ``(start, end)`` seconds, each at most `WINDOW_S` long.
        gain: The file's voiced gain (`voiced_gain`), so a cut is heard at its windows' level.
        threads: The encoder's threads (default: every usable core).
    """
    mels = [_padded_mel(window(audio, int(a * SAMPLE_RATE), int(b * SAMPLE_RATE)) * gain)[:_WINDOW_FRAMES] for a, b in cuts]
    encoder = _get_encoder(threads)
    out = [encoder.run(None, {"mels": np.stack(mels[i : i + _BATCH])})[0] for i in range(0, len(mels), _BATCH)]
    return np.concatenate(out) if out else np.zeros((0, 256), np.float32)


def embed_windows(
    audio: np.ndarray,
    regions: list[tuple[float, float]],
    rate: float = 2.0,
    threads: int | None = None,
    skip: list[tuple[float, float]] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Compute speaker embeddings on sliding windows over the voiced regions.

    Windows never cross a region boundary, so each sees one stretch of speech; a region
    shorter than a window gets one zero-padded window.

    Args:
        audio: Mono float32 waveform at 16 kHz.
        regions: Voiced spans in seconds (e.g. from Silero VAD).
        rate: Windows per second of voiced audio.
        threads: The encoder's threads (default: every usable core).
        skip: Spans already embedded: a window with half its audio or more inside them is left out.

    Returns:
        ``(embeddings, spans)``: L2-normalised embeddings ``[n, 256]`` and the absolute
        ``[start, end]`` seconds of audio each window covers ``[n, 2]``.
    """
    encoder = _get_encoder(threads)
    audio = np.asarray(audio, dtype=np.float32)  # a memory map stays one: pieces are read as needed
    step = max(1, round(SAMPLE_RATE / rate / _HOP))
    pieces = _pieces(audio, regions)
    if not pieces:
        return np.zeros((0, 256), np.float32), np.zeros((0, 2))

    # First pass, audio only: the windows, their levels, and the voiced level (`_gain`).
    windows, levels, squares, count = [], [], 0.0, 0
    for lo, hi in pieces:
        piece = window(audio, lo, hi).astype(np.float64)
        squares, count = squares + float(np.sum(piece**2)), count + len(piece)
        for i in _window_starts(len(piece) // _HOP, step):
            a, b = i * _HOP, min((i + _WINDOW_FRAMES) * _HOP, len(piece))
            windows.append((lo, i, a, b))
            levels.append(float(np.sqrt(np.mean(piece[a:b] ** 2))))
    gain = _gain(squares, count)
    levels = np.asarray(levels)
    keep = levels > np.median(levels) * 10 ** (-_QUIET_DB / 20)
    if len(skip):
        keep &= _share_inside(windows, skip) < 0.5

    # Second pass: mel spectrograms region by region, embedded `_BATCH` windows at a time, so memory
    # holds one region and one batch however long the file is (an hour is ~7 000 windows).
    embeddings, spans, batch = [], [], []

    def flush() -> None:
        if batch:
            embeddings.append(encoder.run(None, {"mels": np.stack(batch)})[0])
            batch.clear()

    mel, mel_lo = None, None
    for (lo, i, a, b), kept in zip(windows, keep):
        if not kept:
            continue
        if mel_lo != lo:
            hi = next(h for l, h in pieces if l == lo)
            mel, mel_lo = _padded_mel(window(audio, lo, hi) * gain), lo
        batch.append(mel[i : i + _WINDOW_FRAMES])
        spans.append(((lo + a) / SAMPLE_RATE, (lo + b) / SAMPLE_RATE))
        if len(batch) == _BATCH:
            flush()
    flush()
    if not embeddings:  # every window quiet or skipped
        return np.zeros((0, 256), np.float32), np.zeros((0, 2))
    embeddings = np.concatenate(embeddings)
    # An all-zero ReLU output normalises to NaN; such a window says nothing about a voice.
    finite = np.isfinite(embeddings).all(axis=1)
    return embeddings[finite], np.asarray(spans)[finite]
