"""WHISPER_DEVICE: `auto` leaves a GPU whose CUDA path does not run; an explicit `cuda` fails at once.

This machine has no GPU and no cuBLAS: the tests fake what CTranslate2 counts and what
`dlopen` finds, and everything after that (model load on cuda, its failure, the CPU load,
the run) is real.
"""

import dagster as dg
import pytest

from fi_diarization.defs.resources import WhisperResource
from fi_diarization.speech import models
from fi_diarization.speech.models import DeviceError, load_model
from fi_diarization_tests.conftest import FIXTURES, TEST_MODEL

MISSING = "libcublas.so.12: cannot open shared object file: No such file or directory"


def _missing(name: str) -> None:
    raise OSError(MISSING if name == "libcublas.so.12" else f"{name}: unexpected")


@pytest.fixture
def one_gpu(monkeypatch):
    """CTranslate2 counts one CUDA device; nothing loaded before the fakes is reused."""
    monkeypatch.setattr(models, "_cuda_devices", lambda: 1)
    models._load.cache_clear()
    yield monkeypatch
    models._load.cache_clear()


@pytest.fixture
def no_cublas(one_gpu):
    one_gpu.setattr(models, "_load_library", _missing)
    return one_gpu


@pytest.fixture
def cuda_libraries_load(one_gpu):
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("a real GPU is here: CUDA would run")
    one_gpu.setattr(models, "_load_library", lambda name: None)
    return one_gpu


def test_auto_picks_cpu_with_a_notice_when_cublas_does_not_load(no_cublas):
    loaded = load_model(TEST_MODEL, "auto", threads=1)
    assert (loaded.device, loaded.compute_type) == ("cpu", "int8")
    assert "libcublas.so.12" in loaded.notice and "CPU" in loaded.notice
    assert "\n" not in loaded.notice


def test_auto_picks_cpu_when_the_model_loads_but_cuda_does_not_run(cuda_libraries_load):
    # The libraries "load", so CTranslate2 really tries CUDA here and fails; auto recovers.
    assert models.choose_device("auto") == ("cuda", "")
    loaded = load_model(TEST_MODEL, "auto", threads=1)
    assert loaded.device == "cpu" and "CUDA" in loaded.notice and "\n" not in loaded.notice
    segments, _ = loaded.model.transcribe(str(FIXTURES / "consult_2spk.wav"), clip_timestamps=[0, 4])
    assert any(s.text.strip() for s in segments)


def test_explicit_cuda_fails_at_once_naming_the_missing_library(no_cublas, monkeypatch):
    constructed = []
    monkeypatch.setattr(models, "_construct", lambda *a: constructed.append(a))
    with pytest.raises(DeviceError, match=r"WHISPER_DEVICE=cuda .*libcublas\.so\.12 cannot be loaded"):
        load_model(TEST_MODEL, "cuda", threads=1)
    assert constructed == []  # refused before any model load
    with pytest.raises(DeviceError, match="libcublas.so.12"):
        WhisperResource(device="cuda").resolved_device()


def test_explicit_cuda_that_does_not_run_is_a_clear_error(cuda_libraries_load):
    with pytest.raises(DeviceError, match=r"^WHISPER_DEVICE=cuda but CUDA cannot run here: CUDA failed"):
        load_model(TEST_MODEL, "cuda", threads=1)


def test_no_gpu_is_cpu_without_a_notice():
    models._load.cache_clear()
    assert models.choose_device("auto") == ("cpu", "")
    assert load_model(TEST_MODEL, "auto", threads=1).notice == ""


def test_the_warm_up_runs_the_encoder():
    loaded = load_model(TEST_MODEL, "cpu", threads=1)
    models.warm_up(loaded.model)  # on cuda this is the first matrix product


def test_a_run_on_a_broken_gpu_finishes_on_the_cpu_and_says_so(home, no_cublas):
    from fi_diarization.audio.intake import accept
    from fi_diarization.defs.config import run_config_for
    from fi_diarization.definitions import JOB_NAME, build_definitions
    from fi_diarization.options import RunOptions
    from fi_diarization.status import open_instance

    no_cublas.setenv("WHISPER_DEVICE", "auto")
    audio_id = accept(home, FIXTURES / "consult_2spk.wav", move=False).audio_id
    instance = open_instance(home)
    instance.add_dynamic_partitions("audio_files", [audio_id])
    job = build_definitions().resolve_job_def(JOB_NAME)
    result = job.execute_in_process(
        run_config=run_config_for(RunOptions(model=TEST_MODEL)),
        instance=instance,
        partition_key=audio_id,
        asset_selection=[dg.AssetKey("audio"), dg.AssetKey("chunks"), dg.AssetKey("transcription")],
    )
    assert result.success
    warnings = [
        r.event_log_entry.user_message
        for r in instance.get_records_for_run(result.run_id).records
        if r.event_log_entry.dagster_event is None and r.event_log_entry.level == 30
    ]
    assert len(warnings) == 1 and "libcublas.so.12" in warnings[0] and "CPU" in warnings[0]
    outputs = [e for e in result.all_events if e.is_successful_output and e.step_key == "transcription.plan_batches"]
    assert outputs and all(e.step_output_data.metadata["device"].value == "cpu/int8" for e in outputs)
    assert all("libcublas.so.12" in e.step_output_data.metadata["device_notice"].value for e in outputs)
    segments = instance.get_latest_materialization_event(dg.AssetKey("transcription")).asset_materialization.metadata
    assert segments["segments"].value > 0
