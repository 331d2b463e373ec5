"""One real materialization of every asset: tiny.en, resemblyzer, an Ollama-API server."""

import os

import dagster as dg
import jiwer
import pandas as pd
import pytest

from fi_diarization.results import load_transcripts, read_result
from fi_diarization_tests.conftest import FIXTURES, TEST_MODEL, truth

ASSETS = ["audio", "chunks", "transcription", "speaker_turns", "speaker_segments", "speaker_roles", "transcript"]
COLUMNS = {"audio_id": "string", "start": "float64", "end": "float64", "speaker": "string", "role": "string",
           "text": "string", "language": "string", "model": "string"}


def wer(reference: str, hypothesis: str) -> float:
    clean = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()])
    return jiwer.wer(clean(reference), clean(hypothesis))


@pytest.fixture(scope="module")
def transcript(consult_run) -> pd.DataFrame:
    assert consult_run.outcome.success, consult_run.outcome.reason
    return load_transcripts(consult_run.audio_id, home=consult_run.settings.home)


def test_every_asset_is_materialized_as_parquet(consult_run):
    for asset in ASSETS:
        assert (consult_run.settings.storage / asset / f"{consult_run.audio_id}.parquet").is_file(), asset
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", consult_run.env["DAGSTER_HOME"])
        instance = dg.DagsterInstance.get()
        for asset in ASSETS:
            event = instance.get_latest_materialization_event(dg.AssetKey(asset))
            assert event is not None and event.dagster_event.partition == consult_run.audio_id, asset


def test_columns_follow_the_spec(transcript):
    assert {name: str(transcript[name].dtype) for name in COLUMNS} == COLUMNS
    assert list(transcript["audio_id"].unique()) == [transcript["audio_id"].iloc[0]]
    assert set(transcript["model"]) == {"bundled:tiny.en"} and set(transcript["language"]) == {"en"}
    assert (transcript["end"] >= transcript["start"]).all()


def test_text_is_close_to_the_script(transcript):
    script = " ".join(s["text"] for s in truth("consult_2spk.wav")["segments"])
    assert wer(script, " ".join(transcript["text"])) < 0.12


def test_every_turn_is_on_the_right_speaker(transcript):
    segments = truth("consult_2spk.wav")["segments"]
    mapping = {}
    for seg in segments:
        middle = (seg["start"] + seg["end"]) / 2
        row = transcript[(transcript["start"] <= middle) & (transcript["end"] >= middle)]
        assert len(row) == 1, seg["text"]
        mapping.setdefault(seg["speaker"], set()).add(row["speaker"].iloc[0])
    assert [len(v) for v in mapping.values()] == [1, 1]
    assert mapping["doctor"] != mapping["patient"]
    assert transcript["speaker"].iloc[0] == "SPEAKER_00"  # labels ordered by first appearance


def test_roles_come_from_the_llm(consult_run, transcript):
    assert consult_run.outcome.notices == []
    (request,) = consult_run.ollama_requests
    assert dict(zip(transcript["speaker"], transcript["role"])) == {"SPEAKER_00": "doctor", "SPEAKER_01": "patient"}
    assert "format" in request


def test_words_are_in_absolute_time_inside_chunks(consult_run, transcript):
    chunks = pd.read_parquet(consult_run.settings.storage / "chunks" / f"{consult_run.audio_id}.parquet")
    words = [w for ws in transcript["words"] for w in ws]
    script_words = sum(len(s["text"].split()) for s in truth("consult_2spk.wav")["segments"])
    assert len(words) >= 0.9 * script_words
    for w in words:
        inside = chunks[(chunks["start"] - 0.05 <= w["start"]) & (w["end"] <= chunks["end"] + 0.05)]
        assert len(inside) == 1, w  # no word straddles a chunk cut


def test_footer_records_the_run(consult_run):
    result = read_result(consult_run.audio_id, consult_run.settings)
    assert result.meta.duration_s == pytest.approx(29.607, abs=0.01)
    assert result.meta.language == "en" and result.meta.model == "bundled:tiny.en"
    assert len(result.meta.fingerprint) == 16


@pytest.mark.parametrize("kind", ["silence", "hum", "noise"])
def test_no_speech_is_an_empty_transcript_not_invented_words(home, kind):
    from fi_diarization.audio.intake import accept
    from fi_diarization.options import RunOptions
    from fi_diarization.runner import run_partition
    from fi_diarization.status import open_instance
    from fi_diarization_tests.media import tone

    accepted = accept(home, tone(home.home / f"{kind}.wav", 12.0, kind), move=False)
    outcome = run_partition(open_instance(home), accepted.audio_id, RunOptions(model=TEST_MODEL), source="test")
    assert outcome.success, outcome.reason
    result = read_result(accepted.audio_id, home)
    assert result.segments.empty and result.meta.duration_s == pytest.approx(12.0)


def test_spanish_with_the_multilingual_model(home):
    from fi_diarization.audio.intake import accept
    from fi_diarization.options import RunOptions
    from fi_diarization.runner import run_partition
    from fi_diarization.status import open_instance

    accepted = accept(home, FIXTURES / "consulta_es.wav", move=False)
    config = RunOptions(model="bundled:base", num_speakers=2)
    outcome = run_partition(open_instance(home), accepted.audio_id, config, source="test")
    assert outcome.success, outcome.reason
    result = read_result(accepted.audio_id, home)
    assert result.meta.language == "es" and set(result.segments["language"]) == {"es"}
    # espeak-ng's Spanish is hard for the base model: hold the pipeline to plain faster-whisper.
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from fi_diarization.speech.models import resolve_model

    plain, info = BatchedInferencePipeline(WhisperModel(resolve_model("bundled:base"), compute_type="int8")).transcribe(
        str(FIXTURES / "consulta_es.wav"), batch_size=8
    )
    plain_text = " ".join(s.text for s in plain)
    script = " ".join(s["text"] for s in truth("consulta_es.wav")["segments"])
    assert info.language == "es"
    assert wer(script, " ".join(result.segments["text"])) <= wer(script, plain_text) + 0.05
    assert result.segments["speaker"].nunique() == 2


def test_a_run_decodes_the_original_once(home, monkeypatch):
    """Intake probes, the `audio` asset decodes once; every later stage maps the samples file."""
    import av
    import faster_whisper

    from fi_diarization.audio.intake import accept
    from fi_diarization.audio import samples as samples_module
    from fi_diarization.options import RunOptions
    from fi_diarization.runner import run_partition
    from fi_diarization.status import open_instance

    src = FIXTURES / "consult_2spk.wav"
    opened, decoded = [], []
    real_open, real_decode = av.open, samples_module.decode_to_file
    monkeypatch.setattr(av, "open", lambda file, *a, **k: opened.append(str(file)) or real_open(file, *a, **k))
    monkeypatch.setattr(samples_module, "decode_to_file", lambda *a, **k: decoded.append(a[0]) or real_decode(*a, **k))
    monkeypatch.setattr(faster_whisper, "decode_audio", lambda *a, **k: pytest.fail("a stage decoded the container"))

    accepted = accept(home, src, move=False)
    instance = open_instance(home)
    first = run_partition(instance, accepted.audio_id, RunOptions(model=TEST_MODEL), source="test")
    again = run_partition(instance, accepted.audio_id, RunOptions(model=TEST_MODEL, num_speakers=2), source="test")

    assert first.success and again.success
    assert [str(p) for p in decoded] == [str(accepted.path)]  # once, for both runs
    originals = [p for p in opened if p in (str(src), str(accepted.path))]
    assert len(originals) == 2  # the intake probe and the one decode
    assert home.samples_file(accepted.sha256).stat().st_size > 0


def _mapped_kib(path) -> int:
    """KiB of `path` mapped into this process (Rss in /proc/self/smaps)."""
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        fields = line.split()
        if fields and not fields[0].endswith(":"):
            inside = line.rstrip().endswith(str(path))
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="Linux's smaps")
def test_windows_of_a_fresh_samples_file_leave_no_pages_mapped(home):
    """An hour's run held up to 203 MB of its samples file in its RSS until windows handed pages back."""
    import wave

    import numpy as np

    from fi_diarization.audio.samples import ensure_samples, load_samples, window

    rng = np.random.default_rng(0)
    wav = home.home / "noise.wav"
    with wave.open(str(wav), "wb") as out:  # five minutes of noise
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(rng.integers(-8000, 8000, 16000 * 300, dtype=np.int16).tobytes())
    dest = home.samples_file("f" * 64)
    n = ensure_samples(wav, dest)  # written just now: the page cache holds it in large folios
    samples = load_samples(dest)
    whole = np.fromfile(dest, dtype="<f4")
    lo = 0
    while lo < n:  # voiced regions with silences between, as every stage reads them
        hi = min(n, lo + int(rng.integers(3200, 48000)))
        assert np.array_equal(window(samples, lo, hi), whole[lo:hi])
        lo = hi + int(rng.integers(3200, 16000))
    assert _mapped_kib(dest) < 1024, "pages read through windows stayed mapped"
    assert np.array_equal(window(samples, 0, n), whole)
    np.asarray(samples[: n // 2]).sum()  # the control: a plain read keeps its pages
    assert _mapped_kib(dest) > n * 4 // 2 // 1024 // 2


def test_speaker_turns_found_beside_whisper_equal_the_steps_own(consult_run, home, monkeypatch):
    """In-process runs find the turns in a background thread during Whisper; FI_OVERLAP=0 in the step."""
    from fi_diarization.audio.intake import accept
    from fi_diarization.options import RunOptions
    from fi_diarization.runner import run_partition
    from fi_diarization.status import open_instance

    def turns_and_meta(settings, audio_id, instance):
        event = instance.get_latest_materialization_event(dg.AssetKey("speaker_turns"))
        frame = pd.read_parquet(settings.storage / "speaker_turns" / f"{audio_id}.parquet")
        metadata = event.asset_materialization.metadata
        assert metadata["stage_seconds"].value > 0  # the work's own time, wherever it ran
        assert metadata["speaker_encoder"].value == "resemblyzer"  # a sure count is not heard again
        return frame, metadata["found_beside_whisper"].value

    beside, flag = turns_and_meta(consult_run.settings, consult_run.audio_id, dg.DagsterInstance.from_config(consult_run.env["DAGSTER_HOME"]))
    assert flag is True

    monkeypatch.setenv("FI_OVERLAP", "0")
    accepted = accept(home, FIXTURES / "consult_2spk.wav", move=False)
    instance = open_instance(home)
    assert run_partition(instance, accepted.audio_id, RunOptions(model=TEST_MODEL), source="test").success
    own, flag = turns_and_meta(home, accepted.audio_id, instance)
    assert flag is False
    # One encoder thread beside Whisper, two in the step, one BLAS thread in both: the same turns.
    assert beside["speaker"].nunique() == 2
    pd.testing.assert_frame_equal(own.drop(columns="audio_id"), beside.drop(columns="audio_id"))
