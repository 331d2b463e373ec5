"""One real materialization of every asset: tiny.en, resemblyzer, an Ollama-API server."""

import dagster as dg
import jiwer
import pandas as pd
import pytest

from fi_diarization.results import load_transcripts, read_result
from fi_diarization_tests.conftest import truth

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
    assert consult_run.outcome.notice == ""
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
