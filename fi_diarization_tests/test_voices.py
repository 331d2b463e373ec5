"""The numpy mel front end equals resemblyzer's librosa one; embeddings cover voiced audio only."""

import numpy as np
import pytest

from faster_whisper import decode_audio
from fi_diarization.speakers.embeddings import WINDOW_S, embed_windows, mel_spectrogram
from fi_diarization_tests.conftest import FIXTURES


@pytest.mark.filterwarnings("ignore:n_fft=400 is too large")
@pytest.mark.parametrize("seconds", [0.01, 0.5, 3.0, 7.3])
def test_mel_spectrogram_matches_librosa(seconds):
    from resemblyzer.audio import wav_to_mel_spectrogram

    speech = decode_audio(FIXTURES / "consult_2spk.wav")[: int(seconds * 16000)]
    ours, theirs = mel_spectrogram(speech), wav_to_mel_spectrogram(speech)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7 * float(theirs.max()))


def test_windows_stay_inside_their_regions():
    audio = decode_audio(FIXTURES / "consult_2spk.wav")
    regions = [(0.5, 4.2), (4.8, 10.6), (11.1, 11.3)]  # the last is too short to embed
    embeddings, spans = embed_windows(audio, regions)
    assert embeddings.shape[1] == 256 and len(embeddings) == len(spans) > 4
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    for start, end in spans:
        assert any(a - 1e-6 <= start and end <= b + 1e-6 for a, b in regions[:2])
        assert end - start <= WINDOW_S + 1e-6
