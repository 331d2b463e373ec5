"""The transcript's asset checks, run by Dagster on real materialized Parquet with planted faults."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fi_diarization.definitions import JOB_NAME, defs
from fi_diarization.defs.partitions import audio_files
from fi_diarization.results.quality import voiced_holes
from fi_diarization.results.timeline import preview_markdown
from fi_diarization.status import failure_reason

CHECKS = {"words_cover_voiced_audio", "no_empty_segments", "speaker_count_in_bounds", "roles_labelled"}
INPUTS = ("audio", "chunks", "speaker_turns", "speaker_roles", "transcript")


def evaluations(instance: dg.DagsterInstance, run_id: str) -> dict:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    return {
        r.event_log_entry.dagster_event.event_specific_data.check_name: r.event_log_entry.dagster_event.event_specific_data
        for r in records
    }


class Planted:
    """The checks' inputs copied from a real run, to change and run only the checks on."""

    def __init__(self, storage: Path, audio_id: str):
        self.storage, self.audio_id = storage, audio_id
        # The job's own checks alone, as the UI's "Execute" on the Checks tab runs them.
        job = defs.resolve_job_def(JOB_NAME)
        self.job = job.get_subset(asset_selection=set(), asset_check_selection=set(job.asset_layer.asset_graph.asset_check_keys))
        self.instance = dg.DagsterInstance.ephemeral()
        self.instance.add_dynamic_partitions(audio_files.name, [audio_id])

    def path(self, asset: str) -> Path:
        return self.storage / asset / f"{self.audio_id}.parquet"

    def rows(self, asset: str) -> list[dict]:
        return pq.read_table(self.path(asset)).to_pylist()

    def write(self, asset: str, rows: list[dict]) -> None:
        schema = pq.read_schema(self.path(asset))
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), self.path(asset))

    def run(self, only: str | None = None):
        job = self.job
        if only:  # one check, as its own "Execute" button in the UI runs it
            job = job.get_subset(asset_selection=set(), asset_check_selection={dg.AssetCheckKey(dg.AssetKey("transcript"), only)})
        result = job.execute_in_process(partition_key=self.audio_id, instance=self.instance, raise_on_error=False)
        return result, evaluations(self.instance, result.run_id)


@pytest.fixture
def planted(consult_run, tmp_path, monkeypatch) -> Planted:
    """A copy of the consult's materialized inputs of the checks, under a data root of its own."""
    storage = tmp_path / "data" / "storage"
    for asset in INPUTS:
        (storage / asset).mkdir(parents=True)
        shutil.copy(consult_run.settings.storage / asset / f"{consult_run.audio_id}.parquet", storage / asset)
    monkeypatch.setenv("FI_DIARIZATION_HOME", str(tmp_path / "data"))
    return Planted(storage, consult_run.audio_id)


def test_the_real_run_passes_every_check(consult_run):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", consult_run.env["DAGSTER_HOME"])
        found = evaluations(dg.DagsterInstance.get(), consult_run.outcome.run_id)
    assert set(found) == CHECKS
    assert {name: e.passed for name, e in found.items()} == dict.fromkeys(CHECKS, True)
    assert all(e.partition == consult_run.audio_id for e in found.values())


def test_a_planted_20_second_hole_fails_the_coverage_check(planted):
    kept = []
    for seg in planted.rows("transcript"):
        words = [w for w in seg["words"] if not 5.0 <= w["start"] < 25.0]
        if words:
            kept.append({**seg, "words": words, "start": words[0]["start"], "end": words[-1]["end"],
                         "text": "".join(w["word"] for w in words).strip()})
    planted.write("transcript", kept)
    result, found = planted.run()
    hole = found["words_cover_voiced_audio"]
    assert not hole.passed and hole.severity == dg.AssetCheckSeverity.ERROR
    (span,) = hole.metadata["holes"].value
    assert span["start"] < 6.0 and span["end"] > 24.0 and span["voiced_s"] > 15.0
    assert "00:05" in hole.description or "00:04" in hole.description
    assert {name for name, e in found.items() if not e.passed} == {"words_cover_voiced_audio"}
    assert result.success  # not blocking: a suspected loss is reported, the transcript still stands


def test_an_empty_segment_fails_and_blocks(planted):
    rows = planted.rows("transcript")
    rows.insert(1, {**rows[1], "text": "  ", "words": []})
    planted.write("transcript", rows)
    result, found = planted.run()
    assert not found["no_empty_segments"].passed
    assert found["no_empty_segments"].description == f"1 of {len(rows)} segments have no text"
    assert not result.success
    # What `status` says of the file: the blocking check by name.
    assert failure_reason(planted.instance, result.run_id).endswith("severity: transcript: no_empty_segments")


def test_a_speaker_count_outside_the_bounds_fails_and_blocks(planted):
    (audio,) = planted.rows("audio")
    planted.write("audio", [{**audio, "options": audio["options"].replace('"max_speakers":8', '"max_speakers":1')}])
    result, found = planted.run()
    count = found["speaker_count_in_bounds"]
    assert not count.passed and count.description == "2 speakers, requested [1, 1]"
    assert not result.success
    # Asked for three: the voices gave three, but one of them said no word. That is no wrong count.
    planted.write("audio", [{**audio, "options": audio["options"].replace('"num_speakers":null', '"num_speakers":3')}])
    turns = planted.rows("speaker_turns")
    planted.write("speaker_turns", turns + [{**turns[-1], "speaker": "SPEAKER_02"}])
    result, found = planted.run()
    count = found["speaker_count_in_bounds"]
    assert count.passed and count.description == "3 speakers (2 with words), requested 3"
    assert result.success


def test_one_check_runs_alone(planted):
    rows = planted.rows("transcript")
    planted.write("transcript", [rows[0], {**rows[1], "text": "", "words": []}, *rows[2:]])
    result, found = planted.run(only="speaker_count_in_bounds")
    assert set(found) == {"speaker_count_in_bounds"} and found["speaker_count_in_bounds"].passed
    assert result.success  # the empty segment's blocking check was not selected
    result, found = planted.run(only="no_empty_segments")
    assert set(found) == {"no_empty_segments"} and not found["no_empty_segments"].passed and not result.success


def test_roles_missing_after_an_answer_fail_and_a_silent_llm_warns(planted):
    planted.write("transcript", [{**s, "role": None} if s["speaker"] == "SPEAKER_01" else s for s in planted.rows("transcript")])
    _, found = planted.run()
    roles = found["roles_labelled"]
    assert not roles.passed and roles.severity == dg.AssetCheckSeverity.ERROR
    assert roles.description == "no role for SPEAKER_01"
    planted.write("speaker_roles", [{**r, "role": None, "reason": "Ollama timed out after 120 s"} for r in planted.rows("speaker_roles")])
    result, found = planted.run()
    roles = found["roles_labelled"]
    assert not roles.passed and roles.severity == dg.AssetCheckSeverity.WARN
    assert roles.description == "no roles: Ollama timed out after 120 s"
    assert result.success


def test_silence_between_words_is_no_hole():
    regions = [(0.0, 4.0), (30.0, 34.0), (40.0, 55.0)]
    words = [(0.5, 1.0), (3.0, 3.5), (30.5, 31.0), (40.1, 40.4), (48.0, 48.5), (54.0, 54.5)]
    assert voiced_holes(regions, words) == []  # 27 s between two words, but only 1 s of it voiced
    (hole,) = voiced_holes(regions, words[:4] + words[5:])
    assert (hole.start, hole.end, hole.voiced_s) == (40.4, 54.0, 13.6)
    (hole,) = voiced_holes(regions, [])
    assert (hole.start, hole.end, hole.voiced_s) == (0.0, 55.0, 23.0)


def test_the_preview_keeps_transcript_text_as_text():
    import pandas as pd
    from markdown_it import MarkdownIt  # a CommonMark renderer with raw HTML on (rich depends on it)

    said = "see ![x](http://127.0.0.1:9/x.png) <img src=x> **now**"
    frame = pd.DataFrame({"start": [0.0], "end": [2.0], "speaker": ["SPEAKER_00"], "role": ["doctor"], "text": [said]})
    html = MarkdownIt("commonmark").render(preview_markdown(frame))
    assert "<img" not in html and "<strong>" not in html and "<a " not in html
    assert "[00:00.00] SPEAKER_00 (doctor): see ![x](http://127.0.0.1:9/x.png) &lt;img src=x&gt; **now**" in html
    # Under 1000 characters however long the talk: the UI shows it in the metadata table, not folded.
    speakers = [f"SPEAKER_0{i % 2}" for i in range(40)]
    talk = pd.DataFrame({"start": range(40), "end": range(1, 41), "speaker": speakers, "role": None, "text": [said * 5] * 40})
    long = preview_markdown(talk)
    assert len(long) < 1000 and long.endswith("more turns*")


def test_the_timeline_draws_each_speakers_talk_in_the_colour_of_its_role(consult_run):
    """The picture the run put in the transcript's metadata, against the transcript it shows."""
    import base64
    import io
    import re

    import pandas as pd
    from PIL import Image

    from fi_diarization.results.timeline import ROLE_COLOURS

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", consult_run.env["DAGSTER_HOME"])
        event = dg.DagsterInstance.get().get_latest_materialization_event(dg.AssetKey("transcript"))
    markdown = event.asset_materialization.metadata["timeline"].value
    (png,) = re.findall(r"!\[speaker timeline\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    image = Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB")
    assert image.width > 300 and image.height > 80
    pixels = pd.Series(list(image.getdata())).value_counts()
    frame = pd.read_parquet(consult_run.settings.storage / "transcript" / f"{consult_run.audio_id}.parquet")
    talk = (frame["end"] - frame["start"]).groupby(frame["role"]).sum()
    assert set(talk.index) == {"doctor", "patient"}
    # Roles take their place in the default role list (doctor, patient, …) as their colour.
    painted = {role: int(pixels.get(tuple(bytes.fromhex(ROLE_COLOURS[i][1:])), 0)) for i, role in enumerate(("doctor", "patient"))}
    assert min(painted.values()) > 200
    # Bars are as long as the talk: the two roles' painted areas stand as their talk times do.
    assert painted["doctor"] / painted["patient"] == pytest.approx(talk["doctor"] / talk["patient"], rel=0.1)


def test_drawing_the_timeline_imports_no_matplotlib():
    """matplotlib's import took ~0.9 s of one core beside Whisper in every run; Pillow draws it."""
    import subprocess
    import sys

    code = (
        "import sys, pandas as pd\n"
        "from fi_diarization.results.timeline import timeline_png\n"
        "frame = pd.DataFrame({'start': [0.0, 2.0], 'end': [1.5, 3.0], 'speaker': ['SPEAKER_00', 'SPEAKER_01'], 'role': ['doctor', None]})\n"
        "assert timeline_png(frame, 4.0, ['doctor']).startswith(b'\\x89PNG')\n"
        "assert timeline_png(frame.iloc[:0], 4.0).startswith(b'\\x89PNG')\n"
        "print('matplotlib' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
