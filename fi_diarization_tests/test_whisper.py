"""Model resolution and the load-once resource, with the bundled models (no hub)."""

import os

import pytest

from fi_diarization.speech import models as whisper
from fi_diarization.defs.resources import WhisperResource
from fi_diarization.speech.models import ModelSpecError, resolve_model, usable_cores


def test_bundled_base_is_assembled_once_and_reused(tmp_path):
    folder = resolve_model("bundled:base", cache=tmp_path)
    model_bin = os.path.join(folder, "model.bin")
    first = os.stat(model_bin)
    assert first.st_size > 140_000_000
    assert sorted(os.listdir(folder)) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    assert resolve_model("bundled:base", cache=tmp_path) == folder
    again = os.stat(model_bin)
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)


def test_half_written_model_is_reassembled(tmp_path):
    folder = resolve_model("bundled:base", cache=tmp_path)
    with open(os.path.join(folder, "model.bin"), "r+b") as fh:
        fh.truncate(1000)
    resolve_model("bundled:base", cache=tmp_path)
    assert os.path.getsize(os.path.join(folder, "model.bin")) > 140_000_000


def test_bundled_tiny_and_local_folder():
    tiny = resolve_model("bundled:tiny.en")
    assert os.path.isfile(os.path.join(tiny, "model.bin"))
    assert resolve_model(tiny) == tiny


@pytest.mark.parametrize(
    ("spec", "message"),
    [("bundled:large", "unknown bundled model"), ("whisper-9000", "unknown model"), ("/", "not a CTranslate2 model folder")],
)
def test_unknown_spec_is_a_clear_error(spec, message):
    with pytest.raises(ModelSpecError, match=message):
        resolve_model(spec)


def test_size_names_pass_through_for_faster_whisper():
    assert resolve_model("small") == "small"


def test_auto_device_and_compute_type_on_cpu():
    resource = WhisperResource()
    assert resource.resolved_device() == "cpu"
    assert resource.resolved_compute_type("cpu") == "int8"
    assert resource.resolved_compute_type("cuda") == "float16"
    assert WhisperResource(compute_type="float32").resolved_compute_type("cpu") == "float32"


def test_threads_never_exceed_usable_cores():
    assert WhisperResource(cpu_threads=999).threads() == usable_cores()
    assert WhisperResource(cpu_threads=1).threads() == 1
    assert WhisperResource().threads() == usable_cores() <= (os.cpu_count() or 1)


def test_model_loads_once_per_process():
    resource = WhisperResource(cpu_threads=1)
    whisper._load.cache_clear()
    first = resource.load("bundled:tiny.en")
    second = resource.load("bundled:tiny.en")
    assert first is second
    assert whisper._load.cache_info().misses == 1
    assert first.device == "cpu" and first.compute_type == "int8" and not first.multilingual


def test_chunking_keeps_the_words_plain_faster_whisper_keeps():
    """On hard human speech (two women, telephone band, noise) the chunk plan loses no words.

    Chunks are voiced regions laid end to end, as the batched pipeline's own VAD path does;
    chunks that kept the silences between regions lost 7 WER points on such speech.
    """
    import jiwer
    from faster_whisper import decode_audio

    from fi_diarization.audio.samples import voiced_regions
    from fi_diarization.speech.chunking import CHUNK_VAD, plan_chunks
    from fi_diarization.speech.models import load_model
    from fi_diarization.speech.transcribe import transcribe_chunks
    from fi_diarization_tests.bed import bed_files
    from fi_diarization_tests.conftest import TEST_MODEL

    [truth] = [t for t in bed_files("tune") if t["path"].endswith("en_women_2spk_tel.flac")]
    audio = decode_audio(truth["path"], sampling_rate=16000)
    loaded = load_model(TEST_MODEL, threads=2)
    plain, _ = loaded.pipeline.transcribe(audio, batch_size=8)
    chunks = list(enumerate(plan_chunks(voiced_regions(audio, CHUNK_VAD))))
    ours = [s for i in range(0, len(chunks), 8) for segs in transcribe_chunks(loaded, audio, chunks[i : i + 8], "en").values() for s in segs]

    clean = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()])
    reference = clean(" ".join(s["text"] for s in sorted(truth["segments"], key=lambda s: s["start"])))
    plain_wer = jiwer.wer(reference, clean(" ".join(s.text for s in plain)))
    our_wer = jiwer.wer(reference, clean(" ".join(s.text for s in ours)))
    assert our_wer <= plain_wer + 0.01
    # Times map back into the original audio: every word lies inside a voiced region.
    regions = voiced_regions(audio, CHUNK_VAD)
    for word in (w for s in ours for w in s.words):
        assert any(a - 0.05 <= word.start <= word.end <= b + 0.05 for a, b in regions), word


def test_a_cpu_batch_is_encoded_and_aligned_a_few_clips_at_a_time_with_the_same_words():
    """A batch of 8 clips: encoded 2 at a time, words aligned 1 at a time (~800 MiB less at once)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

    from fi_diarization_tests.conftest import FIXTURES, TEST_MODEL

    audio = decode_audio(str(FIXTURES / "consult_2spk.wav"), sampling_rate=16000)
    clips = [{"start": 3.6 * i, "end": 3.6 * (i + 1)} for i in range(8)]
    assert clips[-1]["end"] <= len(audio) / 16000
    model = WhisperModel(resolve_model(TEST_MODEL), device="cpu", compute_type="int8", cpu_threads=2)
    pipeline = BatchedInferencePipeline(model)

    def run():
        segments, _ = pipeline.transcribe(audio, language="en", clip_timestamps=clips, batch_size=8, word_timestamps=True)
        return list(segments)

    whole = run()
    encoded: list[int] = []
    aligned: list[int] = []
    encode, align = model.encode, model.find_alignment
    model.encode = lambda features: (encoded.append(len(features)), encode(features))[1]
    model.find_alignment = lambda tokenizer, tokens, *rest: (aligned.append(len(tokens)), align(tokenizer, tokens, *rest))[1]
    whisper.batch_in_parts(model)
    parts = run()
    assert encoded == [2, 2, 2, 2] and aligned == [1] * 8
    assert len(whole) >= 8
    assert [s.text for s in parts] == [s.text for s in whole]
    assert [w.word for s in parts for w in s.words] == [w.word for s in whole for w in s.words]
    # Word edges (and the segment edges taken from them) may move by a few 20 ms frames, and a
    # word's probability by ~0.01: the alignment heads saw the whole batch's padding before. On an
    # Intel CPU edges moved by at most 40 ms; on an AMD EPYC (2026-12-04) one word's end by 80 ms,
    # and an end past its clip's cut (a word cut in two by these fixed 3.6 s clips: no audio there
    # to align, only padding) by 300 ms. The pipeline cuts its clips at silences.
    probabilities = [w.probability for s in parts for w in s.words]
    assert probabilities == pytest.approx([w.probability for s in whole for w in s.words], abs=0.05)
    pairs = [*zip(parts, whole), *((a, b) for x, y in zip(parts, whole) for a, b in zip(x.words, y.words))]
    cut = lambda t: 3.6 * (int(t / 3.6) + 1)  # noqa: E731  the end of the clip a start lies in
    assert all(abs(a.start - b.start) <= 0.1 for a, b in pairs)
    assert all(abs(a.end - b.end) <= 0.1 or min(a.end, b.end) > cut(a.start) for a, b in pairs)
    loaded = whisper.load_model(TEST_MODEL).model
    assert {"encode", "find_alignment"} <= set(vars(loaded))  # what every CPU load gets
