"""Each voiced region's pitch, and whether a file's regions fall into two pitches (one voice's do not).

The speaker encoders hear a man taking short turns with a woman through a telephone band as one
voice, sure (resemblyzer 0.97-0.98 on two check files); their pitches lie 4.7 and 11.9 semitones apart.
The pitch is YIN (de Cheveigné & Kawahara 2002), written here in numpy rather than imported:
librosa, which has it, is not a dependency of the base install (it would bring numba, llvmlite
and scikit-learn for one function), and the torchaudio that [bundled] brings along does not load
with the pinned torch (see `ecapa.py`). `fi_diarization_tests/test_bed.py` holds it to librosa's `yin`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MIN_FRAMES", "MIN_REGIONS", "SAMPLE_RATE", "frame_pitch", "pitch_dip", "region_pitch", "region_pitches", "yin"]

SAMPLE_RATE = 16000
_FRAME = 1024  # 64 ms: two periods at the lowest pitch looked for
_HOP = 160  # 10 ms
_FMIN, _FMAX = 60.0, 400.0
_TROUGH = 0.1  # YIN's threshold on the normalised difference (librosa's default)
_MIN_PERIOD = int(math.floor(SAMPLE_RATE / _FMAX))
_MAX_PERIOD = int(math.ceil(SAMPLE_RATE / _FMIN))
_STEADY = 0.7  # semitones: a frame's pitch within this of both neighbours' is a vowel's, not noise
MIN_FRAMES = 5  # steady (in `region_pitch` also loud) frames a region needs to have a pitch
MIN_REGIONS = 12  # regions with a pitch a file needs for the dip test (and `resegment.pitch_seed`) to say anything
_BLOCK = 6000  # frames of YIN at once (60 s): a 60-minute file's frames at once would take ~2.9 GB


def _frames(x: np.ndarray) -> np.ndarray:
    """Frames of 64 ms every 10 ms, centred on their times (zero-padded at the ends, as librosa's)."""
    padded = np.pad(np.asarray(x, dtype=np.float64), _FRAME // 2)
    count = 1 + max(0, len(padded) - _FRAME) // _HOP
    return padded[np.arange(_FRAME)[None, :] + _HOP * np.arange(count)[:, None]]


def yin(x: np.ndarray) -> np.ndarray:
    """The pitch (Hz) of each 10 ms frame of `x` (16 kHz); unvoiced frames get one too."""
    return _yin(_frames(x))


def _yin(frames: np.ndarray) -> np.ndarray:
    width = _FRAME - _MAX_PERIOD  # the part of each frame compared with itself shifted by every lag
    # A lag of at most _MAX_PERIOD over the first `width` samples never reaches past the frame, so a
    # circular correlation the frame's own length is the linear one (2 * _FRAME gave the same pitches to
    # 1e-14 and the same dip p-values on four bed files, 1.1-1.8x slower, measured).
    size = _FRAME
    spectrum = np.fft.rfft(frames, size) * np.conj(np.fft.rfft(frames[:, :width], size))
    product = np.fft.irfft(spectrum, size)[:, : _MAX_PERIOD + 1]  # sum of x[j] * x[j + lag] over j < width
    energy = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    shifted = energy[:, width : width + _MAX_PERIOD + 1] - energy[:, : _MAX_PERIOD + 1]
    difference = np.maximum(energy[:, width : width + 1] + shifted - 2 * product, 0.0)
    lags = np.arange(1, _MAX_PERIOD + 1)
    normalised = np.ones_like(difference)
    normalised[:, 1:] = difference[:, 1:] * lags / np.maximum(np.cumsum(difference[:, 1:], axis=1), 1e-12)
    search = normalised[:, _MIN_PERIOD : _MAX_PERIOD + 1]
    trough = np.zeros_like(search, dtype=bool)
    trough[:, 1:-1] = (search[:, 1:-1] <= search[:, :-2]) & (search[:, 1:-1] <= search[:, 2:])
    chosen = trough & (search < _TROUGH)
    period = np.where(chosen.any(axis=1), chosen.argmax(axis=1), search.argmin(axis=1))
    # A parabola through the trough and its neighbours places it between lags.
    inner = np.clip(period, 1, search.shape[1] - 2)
    rows = np.arange(len(search))
    left, mid, right = search[rows, inner - 1], search[rows, inner], search[rows, inner + 1]
    bend = left - 2 * mid + right
    shift = np.where(np.abs(bend) > 1e-12, 0.5 * (left - right) / np.where(bend == 0, 1, bend), 0.0)
    exact = np.where(period == inner, inner + np.clip(shift, -1, 1), period)
    return SAMPLE_RATE / (exact + _MIN_PERIOD)


def _steady(semitones: np.ndarray) -> np.ndarray:
    """Frames whose pitch lies within `_STEADY` of both neighbours' (a vowel's, not noise)."""
    steps = np.abs(np.diff(semitones))
    steady = np.zeros(len(semitones), dtype=bool)
    steady[1:-1] = (steps[:-1] < _STEADY) & (steps[1:] < _STEADY)
    return steady


def frame_pitch(audio: np.ndarray, count: int) -> np.ndarray:
    """Semitones above 100 Hz of `count` frames 10 ms apart, frame i centred at ``i * 0.01 + 0.01`` s; NaN where not steady.

    Frame i here is `resegment.mfcc`'s frame i (centred 2.5 ms before), block by block so that a long
    file's frames are never all in memory.
    """
    padded = np.pad(np.asarray(audio, dtype=np.float64), _FRAME // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, _FRAME)[::_HOP][1 : count + 1]
    hz = np.concatenate([_yin(frames[a : a + _BLOCK]) for a in range(0, len(frames), _BLOCK)] or [np.empty(0)])
    semitones = np.full(count, np.nan)
    semitones[: len(hz)] = 12 * np.log2(hz / 100.0)
    semitones[~_steady(semitones)] = np.nan
    return semitones


def region_pitch(audio: np.ndarray, start: float, end: float) -> float | None:
    """The median pitch of a region's steady, loud frames, in semitones above 100 Hz (None: too few such frames)."""
    x = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    if len(x) < MIN_FRAMES * _HOP:
        return None
    frames = _frames(x)
    semitones = 12 * np.log2(_yin(frames) / 100.0)
    power = np.mean(frames**2, axis=1)
    keep = _steady(semitones) & (power >= np.median(power))
    return float(np.median(semitones[keep])) if keep.sum() >= MIN_FRAMES else None


def region_pitches(audio: np.ndarray, regions: list[tuple[float, float]]) -> list[float]:
    """Each region's `region_pitch`, the regions without one left out."""
    return [p for s, e in regions if (p := region_pitch(audio, s, e)) is not None]


def pitch_dip(audio: np.ndarray, regions: list[tuple[float, float]]) -> float | None:
    """Hartigan's dip test p-value of the regions' pitches: small where they fall into two (None: too few regions).

    One voice's regions, phrase by phrase, stay within a few semitones of each other and show no dip
    (p >= 0.10 on the 19 monologues of the bed and ten check sets heard as one voice, sure; 0.24-0.99
    on the twelfth set's seven); a man's and a woman's fall apart (0.000-0.036 where heard as one).
    """
    import diptest  # as in clustering._dip_p: 0.15 s to import, paid only where asked

    pitches = region_pitches(audio, regions)
    if len(pitches) < MIN_REGIONS:
        return None
    return float(diptest.diptest(np.asarray(pitches))[1])
