"""Processing stats across files: three real transcripts, a failed run and a rejected file."""

from __future__ import annotations

import base64
import datetime
import re
import shutil
from collections import Counter
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from fi_diarization.audio.intake import accept, quarantine, rejection
from fi_diarization.audio.probe import RejectedAudio
from fi_diarization.definitions import defs
from fi_diarization.defs.io_manager import PARQUET, ParquetIOManager
from fi_diarization.defs.stats import processing_stats
from fi_diarization.options import RunOptions
from fi_diarization.results import load_stats, read_result
from fi_diarization.runner import run_partition
from fi_diarization.settings import get_settings
from fi_diarization.status import audio_status, open_instance
from fi_diarization_tests.conftest import FIXTURES, TEST_MODEL
from fi_diarization_tests.media import encode

STATS = dg.AssetKey("processing_stats")


def test_stats_over_three_materialized_files(consult_run, tmp_path, monkeypatch):
    # A copy of the materialized consult (data root and instance): the shared one stays as it is.
    root = Path(consult_run.env["FI_DIARIZATION_HOME"]).parent
    shutil.copytree(root, tmp_path / "copy")
    for key, value in consult_run.env.items():
        monkeypatch.setenv(key, value.replace(str(root), str(tmp_path / "copy")))
    settings = get_settings()
    instance = open_instance(settings)
    selection = dg.AssetSelection.assets(STATS)
    start = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection)
    assert start.total_requested == 0  # nothing has landed since the condition began

    ids = [consult_run.audio_id]
    for name, seconds in (("family_3spk.wav", 10), ("ward_4spk.wav", 9)):
        clip = encode(FIXTURES / name, tmp_path / name, "pcm_s16le", "wav", seconds=seconds)
        audio_id = accept(settings, clip, move=False).audio_id
        outcome = run_partition(instance, audio_id, RunOptions(model=TEST_MODEL), source="test")
        assert outcome.success, outcome.reason
        ids.append(audio_id)
    short = encode(FIXTURES / "consult_2spk.wav", tmp_path / "short.wav", "pcm_s16le", "wav", seconds=3)
    failed_id = accept(settings, short, move=False).audio_id
    assert not run_partition(instance, failed_id, RunOptions(model="bundled:nonexistent"), source="test").success
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(RejectedAudio) as refused:  # intake refuses it and quarantines it, as the sensor does
        accept(settings, empty, move=False)
    rejected_id = quarantine(settings, empty, str(refused.value))

    landed = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection, cursor=start.cursor)
    assert landed.total_requested == 1 and landed.get_requested_partitions(STATS) == {None}
    # The stats read the instance and the quarantine only: no audio, no samples.
    shutil.rmtree(settings.audio_dir)
    shutil.rmtree(settings.samples)
    result = dg.materialize([processing_stats], instance=instance, resources={PARQUET: ParquetIOManager()})
    assert result.success
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection, cursor=landed.cursor)
    assert settled.total_requested == 0

    table = load_stats()
    done = table[table["status"] == "done"].set_index("audio_id")
    assert sorted(done.index) == sorted(ids)
    for audio_id in ids:
        found = read_result(audio_id, settings)
        row = done.loc[audio_id]
        assert row["duration_s"] == pytest.approx(found.meta.duration_s)
        assert row["speakers"] == found.segments["speaker"].nunique()
        assert row["words"] == sum(len(w) for w in found.segments["words"])
        assert row["model"] == TEST_MODEL and row["language"] == "en"
        assert row["rtf"] == pytest.approx(row["wall_s"] / row["duration_s"], rel=1e-3)
        # Stage seconds add up to no more than the run that made them lasted.
        (run,) = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": audio_id}, statuses=[dg.DagsterRunStatus.SUCCESS]))
        assert 0 < row["wall_s"] <= run.end_time - run.start_time + 0.01
    (failed,) = table[table["status"] == "failed"].itertuples()
    assert failed.audio_id == failed_id
    assert f"failed: {failed.reason}" == audio_status(instance, settings, failed_id)
    assert "bundled:nonexistent" in failed.reason
    (rejected,) = table[table["status"] == "rejected"].itertuples()
    assert (rejected.audio_id, rejected.reason) == (rejected_id, rejection(settings, rejected_id))
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert set(table["day"]) == {today}

    meta = instance.get_latest_materialization_event(STATS).asset_materialization.metadata
    rtf = done["rtf"].to_numpy()
    assert meta["p50_rtf"].value == pytest.approx(np.percentile(rtf, 50))
    assert meta["p95_rtf"].value == pytest.approx(np.percentile(rtf, 95))
    assert meta["p50_rtf"].value <= meta["p95_rtf"].value <= rtf.max()
    assert meta["audio_minutes_per_day"].value == {today: pytest.approx(done["duration_s"].sum() / 60, abs=1e-3)}
    assert meta["failures_by_reason"].value == {failed.reason: 1}
    assert meta["rejections_by_reason"].value == {rejected.reason: 1}
    assert meta["speakers_per_file"].value == {str(n): c for n, c in Counter(done["speakers"].astype(int)).items()}
    assert (meta["files"].value, meta["done"].value, meta["failed"].value, meta["rejected"].value) == (5, 3, 1, 1)
    (png,) = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)\)", meta["plot"].value)
    assert base64.b64decode(png).startswith(b"\x89PNG\r\n\x1a\n")
