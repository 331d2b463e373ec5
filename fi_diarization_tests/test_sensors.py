"""The inbox sensor, evaluated with build_sensor_context on a real temporary inbox."""

import json
import os
import shutil

import dagster as dg
import pytest

from fi_diarization.definitions import defs
from fi_diarization.audio.intake import find_audio, intake_record, rejection
from fi_diarization.options import RunOptions
from fi_diarization_tests.conftest import FIXTURES


@pytest.fixture
def instance(home):
    with dg.instance_for_test() as inst:
        yield inst


def tick(instance, cursor=None) -> dg.SensorResult:
    sensor = defs.resolve_sensor_def("inbox_sensor")
    return sensor(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_sensor_is_on_by_default():
    assert defs.resolve_sensor_def("inbox_sensor").default_status == dg.DefaultSensorStatus.RUNNING


def test_new_file_waits_until_stable_then_one_partition_and_one_run(home, instance):
    shutil.copy(FIXTURES / "consult_2spk.wav", home.inbox / "visit one.wav")
    first = tick(instance)
    assert not first.run_requests and not first.dynamic_partitions_requests
    second = tick(instance, first.cursor)
    assert len(second.run_requests) == 1
    (add,) = second.dynamic_partitions_requests
    request = second.run_requests[0]
    assert list(add.partition_keys) == [request.partition_key]
    assert request.partition_key.startswith("visit_one-")
    assert request.run_key == f"{request.partition_key}:{RunOptions().fingerprint()}"
    assert request.run_config["ops"]["audio"]["config"]["model"] == RunOptions().model
    assert find_audio(home, request.partition_key) is not None
    assert not any(home.inbox.iterdir())


def test_growing_file_is_not_picked_up(home, instance):
    path = home.inbox / "growing.wav"
    data = (FIXTURES / "consult_2spk.wav").read_bytes()
    path.write_bytes(data[:100_000])
    cursor = tick(instance).cursor
    with path.open("ab") as fh:
        fh.write(data[100_000:200_000])
    result = tick(instance, cursor)
    assert not result.run_requests
    assert path.exists()


def test_identical_bytes_under_another_name_start_nothing(home, instance):
    shutil.copy(FIXTURES / "consult_2spk.wav", home.inbox / "a.wav")
    cursor = tick(instance).cursor
    assert len(tick(instance, cursor).run_requests) == 1
    shutil.copy(FIXTURES / "consult_2spk.wav", home.inbox / "same bytes, new name.wav")
    cursor = tick(instance).cursor
    result = tick(instance, cursor)
    assert not result.run_requests and not result.dynamic_partitions_requests
    assert len(list(home.audio_dir.glob("*.wav"))) == 1


def test_one_request_per_new_file(home, instance):
    for name in ("consult_2spk.wav", "family_3spk.wav"):
        shutil.copy(FIXTURES / name, home.inbox / name)
    result = tick(instance, tick(instance).cursor)
    assert len(result.run_requests) == 2
    assert len({r.run_key for r in result.run_requests}) == 2


def test_rejected_file_goes_to_quarantine_with_reason(home, instance):
    (home.inbox / "notes.wav").write_text("not audio at all")
    shutil.copy(FIXTURES / "consult_2spk.wav", home.inbox / "good.wav")
    result = tick(instance, tick(instance).cursor)
    assert len(result.run_requests) == 1
    (reason_file,) = home.quarantine.glob("*.reason.json")
    qid = reason_file.name.removesuffix(".reason.json")
    assert "not a recognised audio container" in rejection(home, qid)
    assert (home.quarantine / qid).read_text() == "not audio at all"


def test_odd_names_are_taken_in_and_kept_as_metadata(home, instance):
    names = {"línea\nnueva.wav": "consult_2spk.wav", os.fsdecode(b"-caf\xe9 \x1b.wav"): "family_3spk.wav"}
    for name, fixture in names.items():
        shutil.copy(FIXTURES / fixture, home.inbox / name)
    (home.inbox / "\u202enot audio.wav").write_text("text")
    result = tick(instance, tick(instance).cursor)
    ids = sorted(r.partition_key for r in result.run_requests)
    assert [i.rsplit("-", 1)[0] for i in ids] == ["caf", "l_nea_nueva"]
    stored = {intake_record(home, i)["original_name"] for i in ids}
    assert stored == {"línea\nnueva.wav", "-caf\\xe9 \x1b.wav"}  # the bytes that are not UTF-8 as \xe9
    assert not any(home.inbox.iterdir())
    (reason,) = home.quarantine.glob("*.reason.json")
    record = json.loads(reason.read_text())
    assert record["original_name"] == "\u202enot audio.wav"
    assert record["reason"] == "\\u202enot audio.wav: not a recognised audio container (wav, flac, mp3, ogg, m4a, webm, aiff)"


def test_hidden_partial_uploads_are_ignored(home, instance):
    shutil.copy(FIXTURES / "consult_2spk.wav", home.inbox / ".upload.part")
    result = tick(instance, tick(instance).cursor)
    assert not result.run_requests
    assert (home.inbox / ".upload.part").exists()


def test_sensor_interval_is_configurable(monkeypatch):
    from fi_diarization.definitions import build_definitions

    monkeypatch.setenv("FI_SENSOR_INTERVAL_S", "42")
    assert build_definitions().resolve_sensor_def("inbox_sensor").minimum_interval_seconds == 42


def test_unreadable_file_stays_and_does_not_stop_the_others(home, instance, monkeypatch):
    from fi_diarization.audio import intake as inbox

    locked = home.inbox / "locked.wav"
    shutil.copy(FIXTURES / "consult_2spk.wav", locked)
    shutil.copy(FIXTURES / "family_3spk.wav", home.inbox / "fine.wav")
    real = inbox.sha256_file

    def flaky(path, *args):
        if path.name == "locked.wav":  # as if its permissions changed under us (root reads mode 000)
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args)

    monkeypatch.setattr(inbox, "sha256_file", flaky)
    result = tick(instance, tick(instance).cursor)
    assert len(result.run_requests) == 1 and locked.exists()
    assert not any(home.quarantine.iterdir())
