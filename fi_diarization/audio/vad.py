"""Silero once per block of audio, read by every stage's VAD settings.

Three stages ask where the speech is in the same samples: the chunk plan (`speech.chunking`),
the speaker stage's confident regions and its fringe (`speakers.turns`), each with its own
thresholds and paddings. faster-whisper's `get_speech_timestamps` runs the Silero model and
applies the settings in one call, so each stage ran the model again on the same audio: ~1.0 s
per 5 minutes, three times a run. The model's speech probabilities depend only on the audio, so
they are computed once per block and kept by content (`speech_probabilities`); the settings are
applied to them by `speech_timestamps`, a port of the second half of faster-whisper 1.2.1's
`get_speech_timestamps` (MIT), as that function takes no probabilities. `test_vad` holds the
port to the library's own output. Measured in a 5-minute file's run: one model call of 0.75 s
instead of three (1.01 s for the chunk plan, then 0.64 + 0.92 s beside Whisper).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import Future

import numpy as np
from faster_whisper.vad import VadOptions

__all__ = ["speech_probabilities", "speech_timestamps", "WINDOW_SAMPLES"]

WINDOW_SAMPLES = 512  # Silero's window at 16 kHz: one probability per 32 ms
_CONTEXT_SAMPLES = 64  # what each window sees of the one before
# Windows per Silero call. faster-whisper's model call gives the network 10 000 windows (320 s) at
# once, which held ~150 MiB more for a moment on a 10-minute block; 2 000 at a time ~50 MiB, as
# fast (1.2-1.3 s against 1.3-1.6 s per block) and the same bits (`test_vad`).
_SILERO_WINDOWS = 2000
_KEPT_BLOCKS = 8  # an hour is seven 10-minute blocks; each block's probabilities are ~75 kB

_probabilities: OrderedDict[bytes, Future] = OrderedDict()
_lock = threading.Lock()


def speech_probabilities(block: np.ndarray) -> np.ndarray:
    """Silero's speech probability of each 32 ms window of `block`, computed once per content.

    A stage that asks for a block another stage (or thread) has asked for gets the same array;
    one that asks while the other computes waits for it.
    """
    from faster_whisper.vad import get_vad_model

    block = np.ascontiguousarray(block, dtype=np.float32)
    key = hashlib.blake2b(block.data, digest_size=16).digest() + len(block).to_bytes(8, "little")
    with _lock:
        future = _probabilities.get(key)
        mine = future is None
        if mine:
            future = _probabilities[key] = Future()
            while len(_probabilities) > _KEPT_BLOCKS:
                _probabilities.popitem(last=False)
        else:
            _probabilities.move_to_end(key)
    if mine:
        try:
            future.set_result(_silero(get_vad_model().session, block))
        except BaseException as exc:
            with _lock:
                _probabilities.pop(key, None)
            future.set_exception(exc)
    return future.result()


def _silero(session, block: np.ndarray) -> np.ndarray:
    """`SileroVADModel.__call__` of faster-whisper 1.2.1 (MIT) on `block` padded as the library pads
    it, `_SILERO_WINDOWS` windows per call, without a padded copy of the block (40 MB per 10 minutes).

    The state `h`, `c` is carried from call to call as the library carries it between its batches.
    """
    whole = len(block) // WINDOW_SAMPLES
    windows = block[: whole * WINDOW_SAMPLES].reshape(whole, WINDOW_SAMPLES)
    # The padded last window (a whole window of zeros when the length divides evenly); the library
    # zeroes its last 64 samples through a view of its audio, so these bits need it too.
    last = np.zeros((1, WINDOW_SAMPLES), dtype=np.float32)
    last[0, : len(block) - whole * WINDOW_SAMPLES] = block[whole * WINDOW_SAMPLES :]
    last[0, -_CONTEXT_SAMPLES:] = 0
    # Each window's lead-in is the end of the one before; the first window's is silence.
    leads = np.zeros((whole + 1, _CONTEXT_SAMPLES), dtype=np.float32)
    leads[1:] = windows[:, -_CONTEXT_SAMPLES:]

    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    out = []
    for i in range(0, whole + 1, _SILERO_WINDOWS):
        body = windows[i : i + _SILERO_WINDOWS]
        if i + _SILERO_WINDOWS > whole:  # the last call ends with the padded window
            body = np.concatenate([body, last])
        batch = np.concatenate([leads[i : i + len(body)], body], axis=1)
        probabilities, h, c = session.run(None, {"input": batch, "h": h, "c": c})
        out.append(probabilities)
    return np.concatenate(out, axis=0)


def speech_timestamps(probabilities: np.ndarray, length: int, options: VadOptions, sampling_rate: int = 16000) -> list[dict]:
    """`get_speech_timestamps(audio, options)` for audio of `length` samples with these probabilities.

    The lines below are faster-whisper 1.2.1's, after its model call, with its names.
    """
    threshold = options.threshold
    neg_threshold = options.neg_threshold
    if neg_threshold is None:
        neg_threshold = max(threshold - 0.15, 0.01)
    window = WINDOW_SAMPLES
    min_speech_samples = sampling_rate * options.min_speech_duration_ms / 1000
    speech_pad_samples = sampling_rate * options.speech_pad_ms / 1000
    max_speech_samples = sampling_rate * options.max_speech_duration_s - window - 2 * speech_pad_samples
    min_silence_samples = sampling_rate * options.min_silence_duration_ms / 1000
    min_silence_samples_at_max_speech = sampling_rate * 98 / 1000

    triggered = False
    speeches: list[dict] = []
    current: dict = {}
    temp_end = 0  # a possible end of speech (some silence is tolerated)
    prev_end = next_start = 0  # where to cut when a region reaches its longest
    for i, prob in enumerate(np.asarray(probabilities).reshape(-1)):
        if prob >= threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = window * i
        if prob >= threshold and not triggered:
            triggered = True
            current["start"] = window * i
            continue
        if triggered and window * i - current["start"] > max_speech_samples:
            if prev_end:
                current["end"] = prev_end
                speeches.append(current)
                current = {}
                if next_start < prev_end:  # silence since, and no speech yet
                    triggered = False
                else:
                    current["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current["end"] = window * i
                speeches.append(current)
                current = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if prob < neg_threshold and triggered:
            if not temp_end:
                temp_end = window * i
            if window * i - temp_end > min_silence_samples_at_max_speech:  # not a very short silence
                prev_end = temp_end
            if window * i - temp_end < min_silence_samples:
                continue
            current["end"] = temp_end
            if current["end"] - current["start"] > min_speech_samples:
                speeches.append(current)
            current = {}
            prev_end = next_start = temp_end = 0
            triggered = False
            continue
    if current and length - current["start"] > min_speech_samples:
        current["end"] = length
        speeches.append(current)

    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - speech_pad_samples))
        if i != len(speeches) - 1:
            silence = speeches[i + 1]["start"] - speech["end"]
            if silence < 2 * speech_pad_samples:
                speech["end"] += int(silence // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - silence // 2))
            else:
                speech["end"] = int(min(length, speech["end"] + speech_pad_samples))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - speech_pad_samples))
        else:
            speech["end"] = int(min(length, speech["end"] + speech_pad_samples))
    return speeches
