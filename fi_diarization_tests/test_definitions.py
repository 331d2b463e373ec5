"""The code location as Dagster loads it: validation, config, instance settings, the daemon."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from fi_diarization.definitions import JOB_NAME, defs
from fi_diarization.options import RunOptions
from fi_diarization.results import load_stats
from fi_diarization.audio.ids import audio_id_for, is_audio_id
from fi_diarization.defs.partitions import audio_files
from fi_diarization_tests.conftest import FIXTURES, PROJECT_ROOT, project_env, running_daemon

BIN = Path(sys.executable).parent


def test_definitions_validate(tmp_path):
    env = {**os.environ, **project_env(tmp_path)}
    proc = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Validation successful for code location fi_diarization" in proc.stdout + proc.stderr


def test_every_asset_is_partitioned_by_audio_files():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {"audio", "chunks", "transcription", "speaker_turns", "speaker_segments", "speaker_roles", "transcript",
                    "processing_stats"}
    for key in graph.get_all_asset_keys() - {dg.AssetKey("processing_stats")}:
        assert graph.get(key).partitions_def == audio_files
    # The stats across files are one table, kept fresh by an automation condition.
    stats = graph.get(dg.AssetKey("processing_stats"))
    assert stats.partitions_def is None and stats.automation_condition is not None


def test_launchpad_shows_one_config_block_with_defaults():
    job = defs.resolve_job_def(JOB_NAME)
    fields = job.run_config_schema.config_type.fields["ops"].config_type.fields
    shaped = {
        name
        for name, f in fields.items()
        if "config" in f.config_type.fields
        and f.config_type.fields["config"].config_type.kind.name == "STRICT_SHAPE"
        and f.config_type.fields["config"].config_type.fields  # a multi-asset check always has an empty shape
    }
    assert shaped == {"audio"}  # every other op takes no config
    defaults = {name: f.default_value for name, f in fields["audio"].config_type.fields["config"].config_type.fields.items() if f.default_provided}
    assert defaults["language"] == "auto" and defaults["roles"] == ["doctor", "patient", "companion", "other"]
    assert defaults["model"] == RunOptions().model


def test_pools_and_run_queue_from_dagster_yaml(home):
    instance = dg.DagsterInstance.get()
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    pools = {op.pool for op in defs.resolve_job_def(JOB_NAME).graph.iterate_node_defs() if getattr(op, "pool", None)}
    assert pools == {"whisper", "ollama"}


def test_audio_ids_are_safe_and_stable():
    sha = "a" * 64
    assert audio_id_for("Consulta Dra. Pérez, 3/4 [final].wav", sha) == "consulta_dra_p_rez_3_4_final-aaaaaaaaaaaa"
    assert audio_id_for("x.wav", sha) == audio_id_for("x.wav", sha)
    assert audio_id_for("visit-aaaaaaaaaaaa.wav", sha) == "visit-aaaaaaaaaaaa"  # submit's own name is kept
    for name in ("...", "a..b.wav", "\n.wav", "ñ" * 300 + ".mp3"):
        key = audio_id_for(name, sha)
        assert is_audio_id(key) and ".." not in key and "/" not in key and "," not in key


def test_the_daemon_alone_processes_a_new_upload(tmp_path):
    env = {**os.environ, **project_env(tmp_path), "FI_SENSOR_INTERVAL_S": "1"}
    with running_daemon(env, tmp_path / "daemon.log"):
        inbox = Path(env["FI_DIARIZATION_HOME"]) / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "consult_2spk.wav", inbox / "visit.wav")
        transcripts = Path(env["FI_DIARIZATION_HOME"]) / "storage" / "transcript"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not any(transcripts.glob("*.parquet")):
            time.sleep(1)
        (result,) = transcripts.glob("*.parquet")
        assert result.name.startswith("visit-")
        # The same bytes dropped again under another name start nothing.
        shutil.copy(FIXTURES / "consult_2spk.wav", inbox / "again.wav")
        while time.monotonic() < deadline and any(inbox.iterdir()):
            time.sleep(0.5)
        # The new transcript refreshes the stats across files through their automation condition.
        stats = Path(env["FI_DIARIZATION_HOME"]) / "storage" / "processing_stats.parquet"
        while time.monotonic() < deadline and not stats.is_file():
            time.sleep(1)
        time.sleep(2)
    status = subprocess.run([str(BIN / "fi-diarization"), "status"], env=env, capture_output=True, text=True)
    assert status.stdout.count("\tdone") == 1 and len(status.stdout.splitlines()) == 1
    with_env = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    assert len(with_env.get_runs(filters=dg.RunsFilter(job_name=JOB_NAME))) == 1
    assert list(load_stats(home=env["FI_DIARIZATION_HOME"])[["audio_id", "status"]].itertuples(index=False, name=None)) == [
        (result.stem, "done")
    ]


@pytest.mark.parametrize(
    "fields, why",
    [
        ({"num_speakers": 0}, "num_speakers"),
        ({"min_speakers": 3, "max_speakers": 2}, "min_speakers (3) is above max_speakers (2)"),
        ({"roles": []}, "roles"),
        ({"roles": ["doctor", "doctor"]}, "distinct"),
        ({"roles": ["doctor", " "]}, "distinct"),
    ],
)
def test_run_options_are_validated_once_for_every_entry_point(fields, why):
    from pydantic import ValidationError

    from fi_diarization.defs.config import TranscriptionConfig

    # The launchpad's config class is the same model: it refuses exactly what the CLI refuses.
    for model in (RunOptions, TranscriptionConfig):
        with pytest.raises(ValidationError, match=re.escape(why)):
            model(**fields)
