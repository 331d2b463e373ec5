from __future__ import annotations

import datetime
import io
import json
import math

import pandas as pd
import pytest
import srt
import webvtt

from fi_diarization.results import formats
from fi_diarization.results.formats import FORMATS, render

META = {"audio_id": "consulta_es", "duration_s": 22.3914, "language": "es"}


def _transcript(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["start", "end", "speaker", "role", "text"])
    frame.insert(0, "audio_id", META["audio_id"])
    frame["language"] = META["language"]
    frame["model"] = "bundled:base"
    return frame


@pytest.fixture
def consult() -> pd.DataFrame:
    # SPEAKER_01 speaks first; SPEAKER_00's first segment has no role yet (NaN).
    return _transcript(
        [
            (0.5, 4.5144, "SPEAKER_01", "médico", " Buenos días. Siéntese, por favor."),
            (4.5144, 5.2, "SPEAKER_01", "médico", " ¿Qué le trae por aquí?"),
            (5.226, 9.6, "SPEAKER_00", math.nan, " Tengo dolor de cabeza <desde> & más."),
            (10.449, 12.002, "SPEAKER_00", "paciente", " [tos] Sí."),
            (13.0, 14.25, "SPEAKER_01", "médico", " ¿Ha tenido fiebre o náuseas?"),
        ]
    )


def test_json_has_exactly_the_spec_shape(consult):
    out = formats.to_json(consult, **META)
    doc = json.loads(out)
    assert set(doc) == {"audio_id", "duration_s", "language", "speakers", "segments", "speaker_count"}
    assert doc["audio_id"] == "consulta_es"
    assert doc["duration_s"] == 22.391
    assert doc["language"] == "es"
    assert doc["speakers"] == [
        {"speaker": "SPEAKER_01", "role": "médico"},
        {"speaker": "SPEAKER_00", "role": "paciente"},
    ]
    assert len(doc["segments"]) == 5
    for seg in doc["segments"]:
        assert set(seg) == {"start", "end", "speaker", "role", "text"}
    first, _, third, *_ = doc["segments"]
    assert first == {
        "start": 0.5,
        "end": 4.514,
        "speaker": "SPEAKER_01",
        "role": "médico",
        "text": "Buenos días. Siéntese, por favor.",
    }
    assert third["role"] is None
    assert "null" in out
    assert "Siéntese" in out and "náuseas" in out  # not \u-escaped


def test_json_role_null_for_none_and_missing_column(consult):
    consult["role"] = None
    doc = json.loads(formats.to_json(consult, **META))
    assert all(s["role"] is None for s in doc["speakers"] + doc["segments"])
    doc = json.loads(formats.to_json(consult.drop(columns="role"), **META))
    assert all(s["role"] is None for s in doc["speakers"] + doc["segments"])


def test_words_column_is_ignored(consult):
    consult["words"] = [[{"start": 0.5, "end": 1.0, "word": "Buenos", "probability": 0.9}]] * 5
    doc = json.loads(formats.to_json(consult, **META))
    assert "words" not in doc["segments"][0]


def test_txt_merges_consecutive_segments_of_one_speaker(consult):
    lines = formats.to_txt(consult, **META).splitlines()
    assert lines == [
        "[00:00.50] SPEAKER_01 (médico): Buenos días. Siéntese, por favor. ¿Qué le trae por aquí?",
        "[00:05.23] SPEAKER_00 (paciente): Tengo dolor de cabeza <desde> & más. [tos] Sí.",
        "[00:13.00] SPEAKER_01 (médico): ¿Ha tenido fiebre o náuseas?",
    ]


def test_clocks_past_one_hour():
    frame = _transcript([(3723.456, 3725.0, "SPEAKER_00", None, "late")])
    assert formats.to_txt(frame, **META) == "[1:02:03.46] SPEAKER_00: late\n"
    assert "01:02:03,456 --> 01:02:05,000" in formats.to_srt(frame, **META)
    assert "01:02:03.456 --> 01:02:05.000" in formats.to_vtt(frame, **META)


def test_srt_parses_back(consult):
    subs = list(srt.parse(formats.to_srt(consult, **META)))
    assert [s.index for s in subs] == [1, 2, 3, 4, 5]
    assert subs[0].start == datetime.timedelta(seconds=0.5)
    assert subs[0].end == datetime.timedelta(milliseconds=4514)
    assert subs[2].start == datetime.timedelta(milliseconds=5226)
    assert subs[0].content == "SPEAKER_01 (médico): Buenos días. Siéntese, por favor."
    assert subs[2].content == "SPEAKER_00: Tengo dolor de cabeza <desde> & más."
    assert "00:00:04,514 --> 00:00:05,200" in formats.to_srt(consult, **META)


def test_vtt_parses_back_with_voice_spans(consult):
    out = formats.to_vtt(consult, **META)
    assert out.startswith("WEBVTT\n\n")
    vtt = webvtt.from_buffer(io.StringIO(out))
    assert len(vtt) == 5
    first, _, third, *_ = vtt.captions
    assert (first.start, first.end) == ("00:00:00.500", "00:00:04.514")
    assert first.voice == "SPEAKER_01 (médico)"
    assert first.text == "Buenos días. Siéntese, por favor."
    assert third.voice == "SPEAKER_00"
    # Cue text escapes the characters WebVTT reserves.
    assert third.raw_text == "<v SPEAKER_00>Tengo dolor de cabeza &lt;desde&gt; &amp; más."
    assert [c.start_time.in_milliseconds() for c in vtt.captions] == [500, 4514, 5226, 10449, 13000]


def test_rttm_merges_touching_turns_only(consult):
    lines = formats.to_rttm(consult, **META).splitlines()
    fields = [line.split() for line in lines]
    assert all(len(f) == 10 for f in fields)
    assert all(f[0] == "SPEAKER" and f[1] == "consulta_es" and f[2] == "1" for f in fields)
    assert all(f[5:7] == ["<NA>", "<NA>"] and f[8:] == ["<NA>", "<NA>"] for f in fields)
    # 0.5-4.514 and 4.514-5.2 touch: one turn; 9.6 -> 10.449 has a gap: two turns.
    assert [(f[3], f[4], f[7]) for f in fields] == [
        ("0.500", "4.700", "SPEAKER_01"),
        ("5.226", "4.374", "SPEAKER_00"),
        ("10.449", "1.553", "SPEAKER_00"),
        ("13.000", "1.250", "SPEAKER_01"),
    ]


def test_rttm_file_id_has_no_spaces():
    frame = _transcript([(0.0, 1.0, "SPEAKER_00", None, "hi")])
    line = formats.to_rttm(frame, **{**META, "audio_id": "my consult"})
    assert line.split()[1] == "my_consult" and len(line.split()) == 10


def test_table_is_plain_text_and_not_markup(consult):
    out = formats.to_table(consult, **META, width=120)
    assert "\x1b[" not in out
    for header in ("start", "end", "speaker", "role", "text"):
        assert header in out
    assert "[tos] Sí." in out
    assert "SPEAKER_00" in out and "paciente" in out
    assert max(len(line) for line in out.splitlines()) <= 120


def test_unsorted_input_is_rendered_in_time_order(consult):
    shuffled = consult.iloc[::-1].reset_index(drop=True)
    assert formats.to_json(shuffled, **META) == formats.to_json(consult, **META)


def test_segments_without_text_are_not_cues():
    frame = _transcript(
        [(0.0, 1.0, "SPEAKER_00", None, "  "), (1.0, 2.0, "SPEAKER_00", None, "uno")]
    )
    assert [s.content for s in srt.parse(formats.to_srt(frame, **META))] == ["SPEAKER_00: uno"]
    assert len(webvtt.from_string(formats.to_vtt(frame, **META))) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_dispatches(fmt, consult):
    assert render(fmt, consult, **META) == getattr(formats, f"to_{fmt}")(consult, **META)


EMPTY = {"txt": "", "srt": "", "vtt": "WEBVTT\n", "rttm": ""}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("frame", [_transcript([]), pd.DataFrame()], ids=["no-rows", "no-columns"])
def test_empty_transcript(fmt, frame):
    out = render(fmt, frame, audio_id="silence", duration_s=3.0, language="en")
    if fmt == "json":
        assert json.loads(out) == {
            "audio_id": "silence",
            "duration_s": 3.0,
            "language": "en",
            "speakers": [],
            "segments": [],
            "speaker_count": None,
        }
    elif fmt == "table":
        assert "speaker" in out and "no speech" in out
    else:
        assert out == EMPTY[fmt]
    if fmt == "srt":
        assert list(srt.parse(out)) == []
    if fmt == "vtt":
        assert len(webvtt.from_string(out)) == 0


def test_render_rejects_unknown_format(consult):
    with pytest.raises(ValueError, match="unknown format 'docx'"):
        render("docx", consult, **META)
