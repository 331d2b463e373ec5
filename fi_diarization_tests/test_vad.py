"""Silero once per block: the port of faster-whisper's thresholds, and the probabilities shared."""

import threading

import numpy as np
import pytest
from faster_whisper import decode_audio
from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

from fi_diarization.audio import vad
from fi_diarization.audio.samples import voiced_regions
from fi_diarization.speakers.turns import FRINGE_VAD, SPEAKER_VAD
from fi_diarization.speech.chunking import CHUNK_VAD
from fi_diarization_tests.bed import bed_files
from fi_diarization_tests.conftest import FIXTURES

# Human voices (two pairs through a telephone band and noise, three clean voices, Spanish in
# noise); the fixture adds the espeak-ng consult.
FILES = ["en_women_2spk_tel", "en_men_2spk_tel", "en_3spk", "es_mono_noise"]

OPTIONS = [s.options() for s in (CHUNK_VAD, SPEAKER_VAD, FRINGE_VAD)] + [
    VadOptions(),
    VadOptions(threshold=0.3, neg_threshold=0.25, min_speech_duration_ms=250),
    VadOptions(max_speech_duration_s=4.0, speech_pad_ms=0),  # regions cut at their longest
    VadOptions(max_speech_duration_s=2.0, min_silence_duration_ms=50, speech_pad_ms=400),
    VadOptions(threshold=0.8, min_silence_duration_ms=1000),
]


@pytest.fixture(scope="module")
def audios():
    paths = {t["path"].rsplit("/", 1)[-1].removesuffix(".flac"): t["path"] for t in bed_files()}
    found = {name: decode_audio(paths[name], sampling_rate=16000) for name in FILES}
    found["consult_2spk"] = decode_audio(str(FIXTURES / "consult_2spk.wav"), sampling_rate=16000)
    return found


def test_the_port_gives_faster_whispers_own_regions(audios):
    for name, audio in audios.items():
        # The whole file, a piece whose length is a whole number of windows (padded a window
        # more, as faster-whisper pads), and one that ends inside speech.
        for piece in (audio, audio[: 512 * 600], audio[: 16000 * 7 + 123]):
            probabilities = vad.speech_probabilities(piece)
            for options in OPTIONS:
                expected = get_speech_timestamps(piece, options)
                assert vad.speech_timestamps(probabilities, len(piece), options) == expected, (name, len(piece), options)
    assert vad.speech_timestamps(vad.speech_probabilities(np.zeros(0, np.float32)), 0, VadOptions()) == []


def test_silero_in_smaller_calls_gives_the_librarys_probabilities(audios):
    """2 000 windows per call instead of the library's 10 000 (~100 MiB less at once): the same bits."""
    model = get_vad_model()
    for name, audio in audios.items():
        long = np.tile(audio, int(np.ceil(16000 * 150 / len(audio))))[: 16000 * 150 + 77]  # 2.3 calls
        for piece in (long, long[: 512 * 4000], long[: 512 * 4000 - 30], long[:1000]):
            before = piece.copy()
            padded = np.pad(piece, (0, 512 - len(piece) % 512))  # as faster-whisper pads
            assert np.array_equal(vad._silero(model.session, piece), model(padded)), (name, len(piece))
            assert np.array_equal(piece, before)
        assert len(long) // 512 > 2 * vad._SILERO_WINDOWS


def test_silero_runs_once_for_every_stages_settings(audios, monkeypatch):
    calls = []
    real = vad._silero

    def counted(session, audio):
        calls.append(len(audio))
        return real(session, audio)

    monkeypatch.setattr(vad, "_silero", counted)
    vad._probabilities.clear()
    audio = audios["en_women_2spk_tel"]
    stages = [CHUNK_VAD, SPEAKER_VAD, FRINGE_VAD]
    found = [voiced_regions(audio, s) for s in stages]
    assert len(calls) == 1
    # The same regions as each setting's own Silero pass.
    for settings, regions in zip(stages, found):
        own = get_speech_timestamps(audio, settings.options())
        assert regions == [(r["start"] / 16000, r["end"] / 16000) for r in own]
    # Two threads asking at once for a block nobody has asked for: one model call, one answer.
    calls.clear()
    piece = audio[: 16000 * 20]
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(vad.speech_probabilities(piece))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and answers[0] is answers[1]
    # Another audio is another block: its own call.
    vad.speech_probabilities(audios["consult_2spk"])
    assert len(calls) == 2
