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


def test_shipped_encoder_equals_resemblyzer():
    """The ONNX file the pipeline runs gives resemblyzer's own embeddings for real speech."""
    import torch
    from resemblyzer import VoiceEncoder

    from fi_diarization.speakers.embeddings import _get_encoder

    speech = decode_audio(FIXTURES / "consult_2spk.wav")
    mel = mel_spectrogram(speech)
    windows = np.stack([mel[i : i + 160] for i in range(0, len(mel) - 160, 97)])
    ours = _get_encoder().run(None, {"mels": windows})[0]
    with torch.no_grad():
        theirs = VoiceEncoder("cpu", verbose=False)(torch.from_numpy(windows)).numpy()
    assert ours.shape == theirs.shape == (len(windows), 256) and len(windows) > 20
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    # Different voices' windows differ: the comparison is not between constant outputs.
    assert float((ours @ ours.T).min()) < 0.9
    # The same bits with one thread or two, and whatever the batch (beside Whisper or in the step).
    split = np.concatenate([_get_encoder(1).run(None, {"mels": windows[i : i + 7]})[0] for i in range(0, len(windows), 7)])
    np.testing.assert_array_equal(split, ours)


def test_embedding_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from fi_diarization.speakers.embeddings import embed_windows\n"
        "e, s = embed_windows(np.random.default_rng(0).normal(0, 0.1, 48000).astype('float32'), [(0.0, 3.0)])\n"
        "assert e.shape[1] == 256 and len(e) >= 1\n"
        "sys.exit('torch' in sys.modules or 'resemblyzer' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_the_speaker_stage_releases_its_encoder(tmp_path):
    """A file's speaker stage keeps no encoder session after it; the next one makes a fresh one, same turns."""
    from fi_diarization.audio.samples import decode_to_file
    from fi_diarization.speakers import embeddings
    from fi_diarization.speakers.turns import speaker_turns_of

    samples = tmp_path / "consult.f32"
    decode_to_file(FIXTURES / "consult_2spk.wav", samples)
    first, _ = speaker_turns_of(str(samples), threads=1)
    assert embeddings._encoders == {}
    second, _ = speaker_turns_of(str(samples), threads=1)
    assert embeddings._encoders == {}
    assert first == second and len({t.speaker for t in first}) == 2
