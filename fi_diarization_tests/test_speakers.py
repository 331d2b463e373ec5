"""Speaker turns on the espeak-ng fixtures with the real encoder and clusterer; word assignment."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest

from fi_diarization.records import Segment, Turn, Word
from fi_diarization.speakers.clustering import cluster_speakers, relabel_by_first_appearance
from fi_diarization.speakers.turns import assign_speakers
from fi_diarization.speakers.turns import speaker_turns as turns_and_count
from fi_diarization.speakers.embeddings import embed_windows
from fi_diarization.speakers.spectral import average_linkage_labels, spectral_labels
from fi_diarization_tests.conftest import FIXTURES, truth

CONVERSATIONS = ["consult_2spk", "family_3spk", "ward_4spk", "consulta_es"]


@pytest.fixture(scope="module")
def conversation():
    """Decoded audio, Silero VAD regions and truth per fixture, computed once."""
    from faster_whisper import decode_audio
    from faster_whisper.vad import get_speech_timestamps

    from fi_diarization.speakers.turns import SPEAKER_VAD

    cache = {}

    def load(name: str):
        if name not in cache:
            audio = decode_audio(str(FIXTURES / f"{name}.wav"), sampling_rate=16000)
            stamps = get_speech_timestamps(audio, SPEAKER_VAD.options())
            regions = [(s["start"] / 16000, s["end"] / 16000) for s in stamps]
            cache[name] = (audio, regions, truth(f"{name}.wav"))
        return cache[name]

    return load


@pytest.fixture(scope="module")
def turns_for(conversation):
    """speaker_turns per (fixture, num_speakers), computed once."""
    cache = {}

    def run(name: str, num_speakers: int | None = None, **bounds):
        key = (name, num_speakers, tuple(sorted(bounds.items())))
        if key not in cache:
            audio, regions, _ = conversation(name)
            cache[key] = speaker_turns(audio, regions, num_speakers=num_speakers, **bounds)
        return cache[key]

    return run


def speaker_turns(*args, **kwargs) -> list[Turn]:
    """The turns alone (`speakers.turns.speaker_turns` also returns the count estimate)."""
    return turns_and_count(*args, **kwargs)[0]


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def majority_speakers(segments: list[dict], turns: list[Turn]) -> list[str | None]:
    """For each truth segment, the hypothesis speaker covering most of it."""
    out = []
    for seg in segments:
        cover: dict[str, float] = defaultdict(float)
        for turn in turns:
            cover[turn.speaker] += overlap(seg["start"], seg["end"], turn.start, turn.end)
        out.append(max(cover, key=cover.get) if cover and max(cover.values()) > 0 else None)
    return out


def assert_turns_on_right_speaker(segments: list[dict], turns: list[Turn]) -> None:
    mapping: dict[str, set] = defaultdict(set)
    for seg, hyp in zip(segments, majority_speakers(segments, turns)):
        mapping[seg["speaker"]].add(hyp)
    assert all(len(h) == 1 and None not in h for h in mapping.values()), dict(mapping)
    assert len({next(iter(h)) for h in mapping.values()}) == len(mapping), dict(mapping)


def attributed_share(segments: list[dict], turns: list[Turn]) -> float:
    """Share of truth speech time on the hypothesis speaker its turns map to."""
    hyp = dict(zip((s["speaker"] for s in segments), majority_speakers(segments, turns)))
    right = sum(
        overlap(s["start"], s["end"], t.start, t.end) for s in segments for t in turns if t.speaker == hyp[s["speaker"]]
    )
    return right / sum(s["end"] - s["start"] for s in segments)


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_every_turn_on_the_right_speaker_with_the_count_given(name, conversation, turns_for):
    _, _, tr = conversation(name)
    turns = turns_for(name, len(tr["speakers"]))
    assert len({t.speaker for t in turns}) == len(tr["speakers"])
    assert_turns_on_right_speaker(tr["segments"], turns)
    assert attributed_share(tr["segments"], turns) >= 0.85


@pytest.mark.parametrize("name", ["consult_2spk", "family_3spk", "consulta_es"])
def test_estimated_count_matches_the_voices(name, conversation, turns_for):
    _, _, tr = conversation(name)
    turns = turns_for(name)
    assert len({t.speaker for t in turns}) == len(tr["speakers"])
    assert_turns_on_right_speaker(tr["segments"], turns)
    assert attributed_share(tr["segments"], turns) >= 0.95


def test_four_voices_estimate_keeps_the_distinct_ones_apart(conversation, turns_for):
    # The nurse (en-gb+f5) and the patient (en-gb+f3) are one espeak-ng voice at two
    # pitches; resemblyzer places them closer than its within-voice spread, so the
    # estimate may merge them. The other voices must still come out on their own.
    _, _, tr = conversation("ward_4spk")
    turns = turns_for("ward_4spk")
    assert 3 <= len({t.speaker for t in turns}) <= 4
    majority = majority_speakers(tr["segments"], turns)
    by_voice: dict[str, set] = defaultdict(set)
    for seg, hyp in zip(tr["segments"], majority):
        by_voice[seg["speaker"]].add(hyp)
    assert len(by_voice["doctor"]) == len(by_voice["companion"]) == 1
    others = by_voice["nurse"] | by_voice["patient"]
    assert len({*by_voice["doctor"], *by_voice["companion"]}) == 2
    assert not others & (by_voice["doctor"] | by_voice["companion"])


@pytest.mark.parametrize(
    "name, voice", [("family_3spk", "doctor"), ("family_3spk", "companion"), ("consulta_es", "paciente")]
)
def test_one_voice_is_one_speaker(name, voice, conversation):
    # Short single-voice stretches (10-20 s) are not always judged one voice: the halves
    # of a two-way split can look as far apart as two similar espeak-ng voices.
    audio, _, tr = conversation(name)
    spans = [(s["start"], s["end"]) for s in tr["segments"] if s["speaker"] == voice]
    turns = speaker_turns(audio, spans)
    assert {t.speaker for t in turns} == {"SPEAKER_00"}
    assert len(turns) == len(spans)


def test_turns_are_ordered_disjoint_and_inside_the_regions(conversation, turns_for):
    _, regions, _ = conversation("family_3spk")
    turns = turns_for("family_3spk", 3)
    assert turns == sorted(turns, key=lambda t: t.start)
    assert all(a.end <= b.start for a, b in zip(turns, turns[1:]))
    first_seen = list(dict.fromkeys(t.speaker for t in turns))
    assert first_seen == [f"SPEAKER_{i:02d}" for i in range(len(first_seen))]
    start, end = regions[0][0], regions[-1][1]
    assert all(start - 1e-3 <= t.start < t.end <= end + 1e-3 for t in turns)


def test_bounds_are_honoured(conversation, turns_for):
    audio, regions, tr = conversation("family_3spk")
    assert len({t.speaker for t in turns_for("family_3spk", max_speakers=2)}) <= 2
    assert len({t.speaker for t in turns_for("family_3spk", min_speakers=4)}) >= 4
    doctor = [(s["start"], s["end"]) for s in tr["segments"] if s["speaker"] == "doctor"]
    assert len({t.speaker for t in speaker_turns(audio, doctor)}) == 1
    assert len({t.speaker for t in speaker_turns(audio, doctor, min_speakers=2)}) == 2
    assert {t.speaker for t in speaker_turns(audio, regions, max_speakers=1)} == {"SPEAKER_00"}


def test_embed_windows_stay_inside_voiced_regions(conversation):
    audio, regions, _ = conversation("consult_2spk")
    embeddings, spans = embed_windows(audio, regions)
    assert embeddings.shape == (len(spans), 256) and len(spans) > 20
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    for start, end in spans:
        assert any(a - 1e-3 <= start and end <= b + 1e-3 for a, b in regions)
    assert np.all(spans[:, 1] - spans[:, 0] <= 1.6 + 1e-6)

    quiet = np.zeros(16000 * 3, dtype=np.float32)
    empty, no_spans = embed_windows(quiet, [(0.0, 0.2)])
    assert empty.shape == (0, 256) and no_spans.shape == (0, 2)
    assert speaker_turns(quiet, []) == []


def test_cluster_speakers_labels_and_arguments():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    points = np.concatenate([c + 0.05 * rng.normal(size=(10, 16)) for c in centres[[1, 0, 2]]])
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels, given = cluster_speakers(points, num_speakers=3)
    assert list(labels[[0, 10, 20]]) == [0, 1, 2]
    assert len(set(labels[:10])) == len(set(labels[10:20])) == len(set(labels[20:])) == 1
    assert (given.count, given.source, given.confidence) == (3, "given", 1.0)
    labels, estimate = cluster_speakers(points)
    assert (labels.max() + 1, estimate.count, estimate.source) == (3, 3, "estimated") and not estimate.unsure
    assert cluster_speakers(points, max_speakers=2)[0].max() <= 1
    assert list(cluster_speakers(points[:1])[0]) == [0]
    assert cluster_speakers(np.zeros((0, 16)))[0].shape == (0,)


def test_relabel_by_first_appearance():
    assert relabel_by_first_appearance([5, 5, 2, 7, 2, 5]) == [
        "SPEAKER_00", "SPEAKER_00", "SPEAKER_01", "SPEAKER_02", "SPEAKER_01", "SPEAKER_00",
    ]  # fmt: skip
    assert relabel_by_first_appearance([]) == []


def words(*items: tuple[float, float, str]) -> list[Word]:
    return [Word(start, end, text) for start, end, text in items]


def test_assign_speakers_splits_a_segment_at_the_speaker_change():
    turns = [Turn(0.0, 2.0, "SPEAKER_00"), Turn(2.6, 5.0, "SPEAKER_01"), Turn(5.5, 7.0, "SPEAKER_00")]
    straddling = Segment(
        0.2, 4.0, " How are you? Fine, thanks.",
        words((0.2, 0.6, " How"), (0.6, 0.9, " are"), (0.9, 1.8, " you?"),
              (2.7, 3.2, " Fine,"), (3.3, 4.0, " thanks.")),
    )  # fmt: skip
    after = Segment(5.6, 6.5, " Good.", words((5.6, 6.5, " Good.")))
    result = assign_speakers([after, straddling], turns)
    # Split pieces are rebuilt from their words; an unsplit segment comes back as it was.
    assert [(spk, seg.text, seg.start, seg.end) for spk, seg in result] == [
        ("SPEAKER_00", "How are you?", 0.2, 1.8),
        ("SPEAKER_01", "Fine, thanks.", 2.7, 4.0),
        ("SPEAKER_00", " Good.", 5.6, 6.5),
    ]
    assert [w.word for w in result[1][1].words] == [" Fine,", " thanks."]


def test_assign_speakers_nearest_turn_and_segments_without_words():
    turns = [Turn(0.0, 1.0, "SPEAKER_00"), Turn(3.0, 4.0, "SPEAKER_01")]
    # Words in the gap go to the nearer turn; a word-less segment goes by its own overlap.
    gap = Segment(1.1, 2.9, "a b", words((1.1, 1.3, "a"), (2.6, 2.9, "b")))
    bare = Segment(2.5, 3.8, "no words")
    result = assign_speakers([gap, bare], turns)
    assert [(spk, seg.text) for spk, seg in result] == [
        ("SPEAKER_00", "a"),
        ("SPEAKER_01", "no words"),
        ("SPEAKER_01", "b"),
    ]
    assert assign_speakers([bare], []) == [("SPEAKER_00", bare)]


def test_assign_speakers_on_real_turns(conversation, turns_for):
    # Two truth turns fused into one transcript segment, words spread over each turn.
    _, _, tr = conversation("consult_2spk")
    turns = turns_for("consult_2spk", 2)
    first, second = tr["segments"][2], tr["segments"][3]

    def spread(seg):
        tokens = seg["text"].split()
        edges = np.linspace(seg["start"], seg["end"], len(tokens) + 1)
        return [Word(float(a), float(b), " " + t) for a, b, t in zip(edges, edges[1:], tokens)]

    fused = Segment(first["start"], second["end"], first["text"] + " " + second["text"], spread(first) + spread(second))
    result = assign_speakers([fused], turns)
    assert [seg.text for _, seg in result] == [first["text"], second["text"]]
    assert result[0][0] != result[1][0]


def test_importing_the_module_does_not_import_torch():
    code = "import sys, fi_diarization.speakers; sys.exit('torch' in sys.modules or 'resemblyzer' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0



def test_loading_the_definitions_leaves_whisper_unimported():
    """The speaker stage's mel filters come from faster-whisper on first use, not when Dagster loads the code."""
    code = (
        "import sys, fi_diarization.definitions\n"
        "loaded = [m for m in ('faster_whisper', 'ctranslate2') if m in sys.modules]\n"
        "sys.exit(f'imported {loaded}' if loaded else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0

def spectralcluster_turn_to_diarize(min_clusters: int, max_clusters: int):
    """The library configuration that `speakers/spectral.py` ports (as clustering.py built it until the port)."""
    from spectralcluster import autotune, configs, laplacian, refinement, spectral_clusterer

    options = refinement.RefinementOptions(
        thresholding_soft_multiplier=0.01,
        thresholding_type=refinement.ThresholdType.Percentile,
        thresholding_with_binarization=True,
        thresholding_preserve_diagonal=True,
        symmetrize_type=refinement.SymmetrizeType.Average,
        refinement_sequence=list(configs.TURNTODIARIZE_REFINEMENT_SEQUENCE),
    )
    tune = autotune.AutoTune(p_percentile_min=0.40, p_percentile_max=0.95, init_search_step=0.05, search_level=1)
    return spectral_clusterer.SpectralClusterer(
        min_clusters=min_clusters,
        max_clusters=max_clusters,
        refinement_options=options,
        autotune=tune,
        laplacian_type=laplacian.LaplacianType.GraphCut,
        row_wise_renorm=True,
        custom_dist="cosine",
    )


def same_partition(a, b) -> bool:
    """The same clusters, whatever their names."""
    pairs = set(zip(np.asarray(a).tolist(), np.asarray(b).tolist()))
    return len(pairs) == len(set(np.asarray(a).tolist())) == len(set(np.asarray(b).tolist()))


@pytest.mark.parametrize("name", ["family_3spk", "ward_4spk", "consult_2spk"])
def test_the_numpy_port_gives_spectralclusters_labels(name, conversation):
    # The port exists to keep scikit-learn's import out of every run; the library stays the reference.
    from sklearn.cluster import AgglomerativeClustering

    from fi_diarization.speakers.clustering import _block_means, _blocks

    audio, regions, _ = conversation(name)
    embeddings, _ = embed_windows(audio, regions)
    x = _block_means(embeddings.astype(np.float64), _blocks(len(embeddings)))
    for low, high in ((2, 2), (2, 8), (3, 3), (2, 5)):
        for part in (x, x[: len(x) // 2], x[::3]):
            assert same_partition(spectral_labels(part, low, high), spectralcluster_turn_to_diarize(low, high).predict(part))
    for k in (2, 3):
        few = x[:5]
        reference = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(few)
        assert same_partition(average_linkage_labels(few, k), reference)


def test_clustering_imports_neither_scikit_learn_nor_scipy():
    code = (
        "import sys, numpy as np\n"
        "from fi_diarization.speakers.clustering import cluster_speakers\n"
        "rng = np.random.default_rng(0)\n"
        "x = np.repeat(rng.normal(size=(2, 16)), 40, axis=0) + rng.normal(scale=0.3, size=(80, 16))\n"
        "labels, estimate = cluster_speakers(x / np.linalg.norm(x, axis=1, keepdims=True))\n"
        "assert estimate.count == 2, estimate\n"
        "loaded = sorted(m for m in ('sklearn', 'scipy', 'spectralcluster') if m in sys.modules)\n"
        "sys.exit(f'imported {loaded}' if loaded else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
