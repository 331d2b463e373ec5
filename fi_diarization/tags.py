"""Every run tag the project sets or reads, owned here."""

from __future__ import annotations

__all__ = [
    "AUDIO_TAG",
    "SOURCE_TAG",
    "FINGERPRINT_TAG",
    "PID_TAG",
    "HOST_TAG",
    "INVOCATION_TAG",
    "PARTITION_TAG",
    "TRANSCRIBE_FIRST",
    "run_tags",
]

AUDIO_TAG = "fi/audio_id"
SOURCE_TAG = "fi/source"  # cli | sensor | test | benchmark
FINGERPRINT_TAG = "fi/fingerprint"  # the run options' fingerprint
PID_TAG = "fi/pid"  # the CLI process running the job in-process (reaped when it dies)
HOST_TAG = "fi/host"
INVOCATION_TAG = "fi/invocation"  # one CLI call, so its progress watcher finds the run
PARTITION_TAG = "dagster/partition"  # Dagster's own

# Op tags: the in-process executor runs ready steps in this priority order. The chunk plan and
# Whisper go before the speaker stage, whose imports (~5 s cold, started by `audio`) then load
# while Whisper runs instead of before it.
TRANSCRIBE_FIRST = {"dagster/priority": "1"}


def run_tags(audio_id: str, fingerprint: str, source: str) -> dict[str, str]:
    """Tags every run of the job carries, whoever starts it."""
    return {AUDIO_TAG: audio_id, SOURCE_TAG: source, FINGERPRINT_TAG: fingerprint}
