"""Who spoke, on human voices: the speaker stage on the Festival bed, and the LLM's second opinion.

The bed (fi_diarization_tests/bed/) holds conversations voiced by Festival voices built from
recordings of real people, with exact truth. The separation threshold was set on the "tune"
files only; the "check" files were first run after it was fixed, and eight more "check" files
were made later still, to see how the stage does on files nobody tuned on (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fi_diarization_tests.bed import bed_files
from fi_diarization_tests.conftest import TEST_MODEL, project_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from diarization_metrics import der  # noqa: E402

BED = {Path(t["path"]).stem: t for t in bed_files()}
CLI = [str(Path(sys.executable).with_name("fi-diarization"))]

# Measured misses, per assertion, kept visible (strict: a fix, or a file that breaks on another
# assertion, shows). One list per assertion: with a single test per file, a count that went wrong
# on a file already known for its DER stayed hidden behind that file's xfail.
_WOMEN_SHORT = "slt + dita, telephone band + 10 dB white noise"
_MIXED2 = "kal + lp, telephone band + 10 dB pink noise, short turns"
KNOWN = {
    "given": {  # DER with the count given over 5 %
        # ECAPA counts two (`listeners._counted_as_given`), once not told apart at 32 %; 18.9 % before
        # the frames were resegmented (`resegment.py`), 11.9 % with one round.
        "en_women_2spk_short": f"{_WOMEN_SHORT}: DER 6.5 %",
        "en_mono_tel_ked": "one man, telephone band + 12 dB pink noise: DER 5.2 % (4.3 % missed: pauses of 0.5-0.8 s inside sentences, which the truth counts as speech)",
    },
    "count": {  # the estimated count wrong
        # The LLM's count is what recovers kal + lp (test_llm_count_overrules_an_unsure_single_speaker).
        "en_mixed_2spk_short_tel2": f"{_MIXED2}: 1 estimated (0.50, unsure)",
    },
    # DER with the count estimated over 10 %: none since ECAPA joins a voice heard twice (en_mono_tel_wide,
    # 2 voices at 0.79: 41.3 -> 2.4 %; `listeners.join_one_voice`); en_women_2spk_short 18.9 -> 6.5 %, resegmented.
    "estimated": {},
}


@pytest.fixture(scope="module")
def turns(bed_windows):
    """`turns_from_windows` per (bed file, given count or None), computed once for the tests below."""
    from fi_diarization.speakers.turns import turns_from_windows

    cache = {}

    def run(name: str, num_speakers: int | None = None):
        if (name, num_speakers) not in cache:
            regions, embeddings, spans, fringe, audio = bed_windows(name)
            cache[name, num_speakers] = turns_from_windows(regions, embeddings, spans, num_speakers, fringe=fringe, audio=audio)
        return cache[name, num_speakers]

    return run


def _cases(part: str) -> list:
    known = KNOWN[part]
    return [
        pytest.param(n, marks=[pytest.mark.xfail(strict=True, reason=known[n])] if n in known else [], id=n) for n in BED
    ]


def _overlap(name: str) -> bool:
    # A one-speaker-at-a-time system cannot get overlapped speech right: leave it out there.
    return any(c.startswith("overlap") for c in BED[name]["conditions"])


@pytest.mark.parametrize("name", _cases("given"))
def test_turns_with_the_count_given(name, turns):
    truth = BED[name]
    given, _ = turns(name, truth["num_speakers"])
    assert der(truth["segments"], given, skip_overlap=_overlap(name)) <= 0.05


@pytest.mark.parametrize("name", _cases("count"))
def test_speaker_count_estimated(name, turns):
    _, estimate = turns(name)
    n = BED[name]["num_speakers"]
    allowed = {n} if n <= 3 else {n - 1, n, n + 1}  # 4 voices: the turns must hold, the count may be off by one
    assert estimate.source == "estimated" and estimate.count in allowed


@pytest.mark.parametrize("name", _cases("estimated"))
def test_turns_with_the_count_estimated(name, turns):
    estimated, _ = turns(name)
    assert der(BED[name]["segments"], estimated, skip_overlap=_overlap(name)) <= 0.10


def test_fringe_speech_joins_the_voices_without_deciding_them(bed_windows):
    """Speech only the lower threshold finds gets a speaker; the count and its evidence stay."""
    from fi_diarization.speakers.turns import turns_from_windows

    truth = BED["en_women_2spk_check"]  # telephone band + white noise: Silero at 0.5 misses speech
    regions, embeddings, spans, fringe, _ = bed_windows("en_women_2spk_check")
    assert len(fringe.embeddings) > 0
    for lo, hi in fringe.spans:  # only windows mostly outside the confident regions are embedded again
        inside = sum(max(0.0, min(hi, b) - max(lo, a)) for a, b in regions)
        assert inside < 0.5 * (hi - lo) + 0.011
    alone, alone_estimate = turns_from_windows(regions, embeddings, spans)
    joined, joined_estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe)
    assert joined_estimate == alone_estimate
    covered = lambda turns: sum(t.end - t.start for t in turns)  # noqa: E731
    assert covered(joined) > covered(alone)
    assert der(truth["segments"], joined) < der(truth["segments"], alone)


def test_short_phrases_of_one_voice_are_not_a_second_speaker(bed_windows):
    """A monologue's short regions, zero-padded to a window, clustered apart; cut to the same lengths, the voice matches them."""
    from fi_diarization.speakers.turns import turns_from_windows

    regions, embeddings, spans, fringe, audio = bed_windows("en_mono_tel_ked")
    _, unprobed = turns_from_windows(regions, embeddings, spans, fringe=fringe)  # without the audio: no probes
    assert unprobed.count == 2
    turns, estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert {t.speaker for t in turns} == {"SPEAKER_00"}
    # Short windows say little: the count is told as unsure, with the other count to try.
    assert (estimate.count, estimate.unsure, estimate.alternative) == (1, True, 2)
    # A given count is never revised.
    given, _ = turns_from_windows(regions, embeddings, spans, 2, fringe=fringe, audio=audio)
    assert len({t.speaker for t in given}) == 2


def test_chance_between_halves_of_a_voice_is_measured_on_full_windows(bed_windows):
    """With its zero-padded windows, one voice split in two looked ~9x as far apart as its full windows do."""
    import numpy as np

    from fi_diarization.speakers.clustering import _noise_scale
    from fi_diarization.speakers.embeddings import WINDOW_S
    from fi_diarization.speakers.listeners import smooth_embeddings

    _, embeddings, spans, _, _ = bed_windows("en_mono_tel_ked")
    raw, smoothed = embeddings.astype(float), smooth_embeddings(embeddings, spans).astype(float)
    full = spans[:, 1] - spans[:, 0] >= WINDOW_S - 1e-3
    assert 0.2 < np.mean(~full) < 0.8
    one_voice = np.zeros(len(raw), dtype=int)
    assert _noise_scale(raw, smoothed, one_voice, full) < _noise_scale(raw, smoothed, one_voice) / 3


def _two_voices(spans, segments) -> float:
    """The share of windows that heard more than one speaker of the truth (0.1 s or more of each)."""
    heard = [
        {s["speaker"] for s in segments if min(b, s["end"]) - max(a, s["start"]) >= 0.1} for a, b in spans
    ]
    return sum(len(h) > 1 for h in heard) / len(heard)


def test_a_voice_heard_almost_only_in_short_turns_is_heard_on_finer_regions(bed_windows, monkeypatch):
    """Both encoders hear one voice in windows that straddle the turns; over finer regions ECAPA hears two."""
    from fi_diarization.speakers import listeners
    from fi_diarization.speakers.turns import turns_from_windows

    asked, fine_spans = [], listeners._fine_spans

    def recorded(*args):
        asked.append(fine_spans(*args))
        return asked[-1]

    monkeypatch.setattr(listeners, "_fine_spans", recorded)

    def estimate(name: str):
        regions, embeddings, spans, fringe, audio = bed_windows(name)
        asked.clear()
        return spans, *turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)

    truth = BED["en_women_2spk_backchannel"]
    spans, turns, found = estimate("en_women_2spk_backchannel")
    assert len(asked) == 1
    assert _two_voices(spans, truth["segments"]) > 2 * _two_voices(asked[0], truth["segments"])
    assert (found.count, found.encoder) == (2, "ecapa")
    assert der(truth["segments"], turns) < 0.05
    # One voice with short pauses, heard there too, stays one.
    _, turns, found = estimate("en_mono_tel_ked")
    assert len(asked) == 1 and (found.count, found.encoder) == (1, "ecapa")
    assert {t.speaker for t in turns} == {"SPEAKER_00"}


def test_short_turns_are_counted_as_the_lowest_count_above_one_of_ecapas_layouts(bed_windows, turns, monkeypatch):
    """A woman and a man taking short turns by phone: ECAPA's finer regions hear three; the lowest count of its layouts is two."""
    from fi_diarization.speakers import ecapa, listeners
    from fi_diarization.speakers import turns as stage
    from fi_diarization.speakers.turns import turns_from_windows

    name = "en_mixed_2spk_short_tel"
    truth = BED[name]["segments"]
    found_turns, found = turns(name)
    assert (found.count, found.source, found.encoder) == (2, "estimated", "ecapa")
    assert der(truth, found_turns) <= 0.05

    def finer_regions_only(audio, windows, bounds, first, threads):
        # As before `_lowest_count`: the finer regions' count, taken where the windows heard one.
        near = listeners._fine_spans(audio, threads)
        finer = ecapa.embed_spans(audio, near)
        labels, again = listeners._ecapa_clusters(finer, near, bounds, first)
        return (finer, near, labels, again) if windows[3].count == 1 and again.count > 1 else windows

    monkeypatch.setattr(listeners, "_lowest_count", finer_regions_only)
    regions, embeddings, spans, fringe, audio = bed_windows(name)
    # The last step joins the two of the three that are one voice (`listeners.join_one_voice`): this
    # over-count, 0.73 sure, comes out right by that step alone.
    joined_turns, joined = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (joined.count, joined.joined is not None) == (2, True) and der(truth, joined_turns) <= 0.05
    monkeypatch.setattr(stage, "join_one_voice", lambda audio, runs, *_: (runs, None))
    over_turns, over = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert over.count == 3 and der(truth, over_turns) >= 0.2


def test_ecapa_counts_no_more_voices_than_resemblyzer_was_unsure_between(bed_windows, turns, monkeypatch):
    """Two men taking short turns by phone: resemblyzer is unsure between one and two, ECAPA hears three; two stand."""
    from fi_diarization.speakers import listeners
    from fi_diarization.speakers.turns import turns_from_windows

    name = "en_men_2spk_short_tel"
    truth = BED[name]["segments"]
    found_turns, found = turns(name)
    assert (found.count, found.encoder, found.alternative) == (2, "ecapa", 1) and found.unsure
    assert der(truth, found_turns) <= 0.05
    monkeypatch.setattr(listeners, "_most_heard", lambda *a: math.inf)
    regions, embeddings, spans, fringe, audio = bed_windows(name)
    _, over = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert over.count == 3 and not over.unsure


def test_a_given_count_resemblyzer_hears_alone_keeps_its_own_clusters(bed_windows, turns, monkeypatch):
    """Three voices by phone: cut into three at once they miss; counting alone resemblyzer hears three, sure, and is right."""
    from fi_diarization.speakers import clustering
    from fi_diarization.speakers.turns import turns_from_windows

    truth = BED["t3_3spk_en_tel"]["segments"]
    given, given_estimate = turns("t3_3spk_en_tel", 3)
    estimated, estimate = turns("t3_3spk_en_tel")
    assert (estimate.count, estimate.source, estimate.unsure) == (3, "estimated", False)
    assert given == estimated and (given_estimate.source, given_estimate.confidence) == ("given", 1.0)
    assert der(truth, given, skip_overlap=True) <= 0.05
    # The windows cut into three at once (without the audio nothing counts alone, nor redraws): they miss.
    regions, embeddings, spans, fringe, audio = bed_windows("t3_3spk_en_tel")
    monkeypatch.setattr(clustering, "_estimate", lambda *a: pytest.fail("counted with the count given"))
    cut, _ = turns_from_windows(regions, embeddings, spans, 3, fringe=fringe)
    assert der(truth, cut, skip_overlap=True) >= 0.2


def test_a_given_count_resemblyzer_is_sure_against_is_heard_by_ecapa(bed_windows, turns, monkeypatch):
    """Two women taking short turns by phone: resemblyzer alone hears one, sure; told two, ECAPA's cut finds lp."""
    from fi_diarization.speakers import listeners
    from fi_diarization.speakers.turns import turns_from_windows

    name = "en_women_2spk_short3"
    truth = BED[name]["segments"]
    regions, embeddings, spans, fringe, audio = bed_windows(name)
    probe = listeners.resemblyzer_cuts(audio, regions, None)
    _, alone = listeners.cluster_windows(embeddings, spans, (None, 1, 8), probe, listeners.SEPARATION_THRESHOLD)
    assert alone.count == 1 and not alone.unsure
    given, estimate = turns(name, 2)
    assert (estimate.count, estimate.source, estimate.encoder) == (2, "given", "ecapa")
    assert der(truth, given) <= 0.05
    # Without ECAPA resemblyzer's cut into two stands, and misses lp.
    monkeypatch.setattr(listeners.ecapa, "available", lambda: False)
    cut, _ = turns_from_windows(regions, embeddings, spans, 2, fringe=fringe, audio=audio)
    assert der(truth, cut) >= 0.2


def test_a_given_count_heard_only_in_backchannels_is_cut_from_finer_pieces(bed_windows, turns, monkeypatch):
    """ona + lp, lp almost only in backchannels: ECAPA's windows miss her; its cut of the finer pieces hears her."""
    from fi_diarization.speakers import listeners
    from fi_diarization.speakers.turns import turns_from_windows

    truth = BED["en_women_2spk_short2"]["segments"]
    given, estimate = turns("en_women_2spk_short2", 2)
    assert (estimate.count, estimate.source, estimate.encoder) == (2, "given", "ecapa")
    assert estimate.separation >= listeners.ecapa.SEPARATION_THRESHOLD
    assert der(truth, given) <= 0.05
    # Without the pieces (cut for the count given, or counted alone) resemblyzer's cut stands, and splits ona instead.
    monkeypatch.setattr(listeners, "_given_on_pieces", lambda *a: None)
    monkeypatch.setattr(listeners, "_PIECES_ALONE", math.inf)
    regions, embeddings, spans, fringe, audio = bed_windows("en_women_2spk_short2")
    cut, _ = turns_from_windows(regions, embeddings, spans, 2, fringe=fringe, audio=audio)
    assert der(truth, cut) >= 0.2


def test_yin_finds_a_tone_and_holds_to_librosa_on_speech(bed_windows):
    """`pitch.yin` finds a tone's pitch, and on a man and a woman by phone agrees with librosa's YIN on most loud frames."""
    librosa = pytest.importorskip("librosa")  # [dev]: resemblyzer brings it
    import numpy as np

    from fi_diarization.speakers.pitch import yin

    t = np.arange(16000) / 16000
    for hz in (110.0, 233.0):
        assert abs(np.median(yin(np.sin(2 * np.pi * hz * t))) / hz - 1) < 0.005
    audio = bed_windows("en_mixed_2spk_short_tel2")[-1]
    ours = yin(audio)
    theirs = librosa.yin(audio, fmin=60, fmax=400, sr=16000, frame_length=1024, hop_length=160)
    loud = librosa.feature.rms(y=audio, frame_length=1024, hop_length=160)[0]
    loud = loud >= np.median(loud)
    apart = np.abs(12 * np.log2(ours / theirs))[loud]
    assert np.mean(apart < 0.5) >= 0.85


def test_the_regions_pitches_fall_into_two_for_a_man_and_a_woman_not_for_one_voice(bed_windows):
    """Hartigan's dip test on the regions' pitches: a dip for a man and a woman by phone, none for monologues."""
    from fi_diarization.audio.samples import voiced_regions
    from fi_diarization.speakers.listeners import _FINE_VAD, _TWO_PITCHES_P
    from fi_diarization.speakers.pitch import pitch_dip

    def dip(name: str) -> float:
        audio = bed_windows(name)[-1]
        return pitch_dip(audio, voiced_regions(audio, _FINE_VAD))

    assert dip("en_mixed_2spk_short_tel2") <= _TWO_PITCHES_P
    for one in ("en_mono_180s", "en_mono_tel", "es_mono_noise"):
        assert dip(one) > _TWO_PITCHES_P, one


def test_one_voice_heard_sure_is_doubted_where_the_regions_pitches_fall_into_two(bed_windows, turns, monkeypatch):
    """A woman and a man taking short turns by phone: resemblyzer hears one voice, sure; the pitches doubt it, ECAPA hears two."""
    from fi_diarization.speakers import turns as stage

    name = "en_mixed_2spk_short_tel3"
    truth = BED[name]["segments"]
    found_turns, found = turns(name)
    assert (found.count, found.encoder) == (2, "ecapa") and not found.unsure
    assert found.pitch_dip <= 0.05 and found.as_dict()["pitch_dip"] == round(found.pitch_dip, 3)
    assert der(truth, found_turns) <= 0.05
    regions, embeddings, spans, fringe, audio = bed_windows(name)
    _, bounded = stage.turns_from_windows(regions, embeddings, spans, max_speakers=1, fringe=fringe, audio=audio)
    assert (bounded.count, bounded.pitch_dip, bounded.unsure) == (1, None, False)  # one voice allowed: no doubt
    monkeypatch.setattr(stage, "doubt_one_voice", lambda audio, regions, estimate, max_speakers: estimate)
    _, alone = stage.turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (alone.count, alone.encoder, alone.pitch_dip) == (1, "resemblyzer", None) and not alone.unsure


def test_the_bed_is_split_and_holds_the_conditions_asked_for():
    splits = {t["split"] for t in BED.values()}
    conditions = " ".join(c for t in BED.values() for c in t["conditions"])
    assert splits == {"tune", "check"}
    assert {t["num_speakers"] for t in BED.values()} == {1, 2, 3, 4}
    assert {t["language"] for t in BED.values()} == {"en", "es"}
    for needed in ("telephone", "noise", "same_sex_male", "same_sex_female", "overlap", "dominant", "monologue", "backchannels"):
        assert needed in conditions, needed
    assert any(t["num_speakers"] == 1 and t["duration_s"] >= 180 for t in BED.values())


def test_second_opinion_rule():
    from fi_diarization.speakers.clustering import CountEstimate, second_opinion

    unsure_one = CountEstimate(1, "estimated", 0.55, 2, 1.96)
    assert second_opinion(unsure_one, 2, 1, 8) == 2
    assert second_opinion(CountEstimate(1, "estimated", 0.97), 2, 1, 8) is None  # a sure estimate stands
    assert second_opinion(CountEstimate(1, "given", 1.0), 2, 1, 1) is None  # a given count is never overruled
    assert second_opinion(CountEstimate(2, "estimated", 0.55, 3), 3, 1, 8) is None  # only one-speaker estimates
    assert second_opinion(unsure_one, 5, 1, 4) is None  # outside the requested bounds
    assert second_opinion(unsure_one, 1, 1, 8) is None and second_opinion(unsure_one, None, 1, 8) is None


def _transcribe(env: dict, *args: str) -> tuple[dict, str]:
    proc = subprocess.run(
        CLI + ["transcribe", BED["en_mixed_2spk_short_tel2"]["path"], "--model", TEST_MODEL, "--format", "json", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_llm_count_overrules_an_unsure_single_speaker(tmp_path):
    from fi_diarization_tests.ollama_server import FakeOllama

    truth = BED["en_mixed_2spk_short_tel2"]
    env = project_env(tmp_path)
    # Without Ollama the acoustic estimate stands, and the user is told how to fix it.
    alone, notice = _transcribe(env)
    assert alone["speaker_count"]["source"] == "estimated" and alone["speaker_count"]["count"] == 1
    assert alone["speaker_count"]["alternative"] == 2 and "--num-speakers" in notice
    # ECAPA listened again (resemblyzer was unsure) and heard one too: the count stays unsure.
    assert alone["speaker_count"]["encoder"] == "ecapa" and alone["speaker_count"]["confidence"] < 0.75
    with FakeOllama() as server:
        # The LLM reads a dialogue in the text: two people.
        server.answer = lambda request: {
            "speakers": [{"speaker": s, "role": "other"} for s in request["format"]["properties"]["speakers"]["items"]["properties"]["speaker"]["enum"]],
            "speaker_count": 2,
        }
        revised, notice = _transcribe({**env, "OLLAMA_HOST": server.url}, "--force")
        requests = list(server.requests)
    assert revised["speaker_count"]["source"] == "llm" and revised["speaker_count"]["count"] == 2
    assert {s["speaker"] for s in revised["segments"]} == {"SPEAKER_00", "SPEAKER_01"}
    assert "LLM's reading" in notice
    # One request with the acoustic speaker, one for the roles of the two re-clustered voices.
    assert len(requests) == 2
    assert requests[1]["format"]["properties"]["speakers"]["items"]["properties"]["speaker"]["enum"] == ["SPEAKER_00", "SPEAKER_01"]
    # The transcript is the data the LLM sees, never its instructions.
    assert all("<transcript>" in r["messages"][-1]["content"] for r in requests)
    assert truth["num_speakers"] == 2


def test_resegmentation_redraws_turns_frame_by_frame_and_leaves_one_voice_alone(bed_windows):
    """Per-speaker MFCC models move the frames the windows gave the wrong voice; one voice is left as it is."""
    import numpy as np

    from fi_diarization.records import Turn
    from fi_diarization.speakers import resegment as r
    from fi_diarization.speakers.turns import _merge_runs

    regions, embeddings, spans, fringe, audio = bed_windows("en_women_2spk_tel2")
    features = r.mfcc(audio)
    assert features.shape == ((len(audio) - 400) // 160 + 1, 21) and np.isfinite(features).all()
    truth = BED["en_women_2spk_tel2"]
    # The window turns, as they stood before the frames were redrawn.
    runs = [(a, b, int(k[-2:])) for a, b, k in _window_turns(regions, embeddings, spans, fringe, audio, 2)]
    before = der(truth["segments"], [Turn(a, b, f"S{k}") for a, b, k in runs])
    redrawn = _merge_runs(r.resegment(audio, runs, features))
    after = der(truth["segments"], [Turn(a, b, f"S{k}") for a, b, k in redrawn])
    assert before > 0.05 and after < before - 0.02, (before, after)
    # Only labels move: the speech the turns cover stays where it was.
    covered = lambda rs: sum(b - a for a, b, _ in rs)  # noqa: E731
    assert abs(covered(redrawn) - covered(runs)) < 0.5
    one = [(0.0, 10.0, 0), (11.0, 20.0, 0)]
    assert r.resegment(audio, one, features) == one


def test_a_voice_split_in_two_is_redrawn_from_the_two_pitches(bed_windows):
    """A man split in two with the woman inside one half: the file's two pitch groups draw the turns again, and ECAPA keeps that."""
    import numpy as np

    from fi_diarization.records import Turn
    from fi_diarization.speakers import resegment as r
    from fi_diarization.speakers.listeners import farther_apart
    from fi_diarization.speakers.turns import _merge_runs

    name = "en_mixed_2spk_short_tel2"  # kal + lp by phone: their regions' pitches lie ~11 semitones apart
    regions, *_, audio = bed_windows(name)
    truth = BED[name]["segments"]
    man = [s for s in truth if s["speaker"] == "doctor"]
    half = man[len(man) // 2]["start"]
    # The windows' mistake, as on x_mixed_kal_dita_short: the man's first half and the woman one voice.
    runs = sorted((s["start"], s["end"], int(s["speaker"] == "doctor" and s["start"] >= half)) for s in truth)
    score = lambda drawn: der(truth, [Turn(a, b, f"S{k}") for a, b, k in _merge_runs(drawn)])  # noqa: E731
    assert score(runs) > 0.2
    drawn = _merge_runs(r.resegment(audio, runs))
    assert score(drawn) > 0.2  # the MFCC models alone keep the split
    seeded = _merge_runs(r.redraw_by_pitch(audio, runs, regions))
    assert score(seeded) <= 0.05
    assert farther_apart(audio, seeded, drawn) and not farther_apart(audio, drawn, seeded)
    # One voice of a single turn (a pitch tracker's octave errors) is no voice to judge by.
    lone = [(a, b, 0) for a, b, _ in seeded] + [(0.0, 0.6, 1)]
    assert not farther_apart(audio, lone, drawn)
    # The seed itself: each region to its pitch group, both voices having sat in the lower one.
    label = np.full(len(r.mfcc(audio)), -1)
    for a, b, k in runs:
        label[int(round(a / r.HOP_S)) : int(round(b / r.HOP_S))] = k
    seed = r.pitch_seed(audio, label, regions)
    assert seed is not None and set(seed[seed >= 0]) == {0, 1}
    # Voices already one in each group (the truth's own turns), or two women: no seed.
    right = sorted((s["start"], s["end"], int(s["speaker"] == "patient")) for s in truth)
    assert r.redraw_by_pitch(audio, right, regions) is None
    women_regions, *_, women_audio = bed_windows("en_women_2spk_tel2")
    women = sorted((s["start"], s["end"], int(s["speaker"] == "patient")) for s in BED["en_women_2spk_tel2"]["segments"])
    assert r.redraw_by_pitch(women_audio, women, women_regions) is None


def test_one_voice_heard_twice_is_joined_and_two_people_are_not(bed_windows, turns):
    """A monologue whose phrases move in pitch, found as two voices: ECAPA hears them as one, and they are joined."""
    from unittest import mock

    from fi_diarization.speakers import turns as stage
    from fi_diarization.speakers.listeners import SAME_VOICE, join_one_voice

    name = "en_mono_tel_wide"
    regions, embeddings, spans, fringe, audio = bed_windows(name)
    with mock.patch.object(stage, "join_one_voice", lambda audio, runs, *_: (runs, None)):
        split, before = stage.turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert before.count == 2 and before.joined is None
    runs = [(t.start, t.end, int(t.speaker[-2:])) for t in split]
    joined, cosine = join_one_voice(audio, runs, 1, before.confidence)
    assert cosine >= SAME_VOICE and {k for *_, k in joined} == {0}
    assert join_one_voice(audio, runs, 2, before.confidence) == (runs, None)  # --min-speakers 2 keeps them apart
    assert join_one_voice(audio, runs, 1, 0.8) == (runs, None)  # a count this sure is not asked about
    _, estimate = turns(name)
    assert (estimate.count, estimate.encoder, estimate.joined) == (1, "ecapa", pytest.approx(cosine, abs=1e-3))
    # The people a phone line brings closest on the bed, as the truth has them, stay apart: two women
    # (lp, dita) whose mean embeddings lie as close as one voice's halves, kept apart by their turns' spread.
    for other in ("en_women_2spk_tel2", "en_mixed_2spk_short_tel2", "en_men_2spk_tel"):
        *_, people = bed_windows(other)
        voices = sorted({s["speaker"] for s in BED[other]["segments"]})
        truth = sorted((s["start"], s["end"], voices.index(s["speaker"])) for s in BED[other]["segments"])
        assert join_one_voice(people, truth, 1, 0.5) == (truth, None)


def test_two_groups_of_pitches_from_the_quartiles():
    """2-means from the quartiles: a man's and a woman's regions an octave apart; a few octave errors are no group."""
    import numpy as np

    from fi_diarization.speakers.resegment import _two_groups

    rng = np.random.default_rng(0)
    centres, smaller = _two_groups(np.concatenate([rng.normal(2.0, 1.5, 40), rng.normal(14.0, 1.5, 15)]))
    assert abs(centres[1] - centres[0] - 12) < 1.5 and abs(smaller - 15 / 55) < 0.02
    centres, _ = _two_groups(np.concatenate([rng.normal(10.0, 1.5, 60), rng.normal(12.5, 1.5, 40), [22.0, 23.0, -1.0]]))
    assert centres[1] - centres[0] < 6
    assert _two_groups(np.full(20, 3.0)) == (None, 0.0)


def _window_turns(regions, embeddings, spans, fringe, audio, n):
    """`turns_from_windows` with the resegmentation switched off (what the windows alone drew)."""
    from unittest import mock

    from fi_diarization.speakers import turns

    with mock.patch.object(turns, "resegment", lambda audio, runs, features=None: runs), \
            mock.patch.object(turns, "redraw_by_pitch", lambda *_: None):
        found, _ = turns.turns_from_windows(regions, embeddings, spans, n, fringe=fringe, audio=audio)
    return [(t.start, t.end, t.speaker) for t in found]
