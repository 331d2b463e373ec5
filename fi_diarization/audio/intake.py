"""Intake: accepted files move into the audio store, rejected ones into quarantine."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..settings import Settings
from ..store import copy_atomic, move_atomic, write_json_atomic
from .ids import HASH_CHARS, audio_id_for, is_audio_id, name_record
from .probe import AudioInfo, probe, sha256_file

__all__ = ["Accepted", "accept", "intake_record", "quarantine", "find_audio", "find_by_hash", "rejection", "quarantined", "suffix_for"]

_SUFFIXES = {"wav": ".wav", "flac": ".flac", "mp3": ".mp3", "ogg": ".ogg", "matroska": ".mka", "mov": ".m4a",
        "aiff": ".aiff", "caf": ".caf", "aac": ".aac"}


@dataclass(frozen=True)
class Accepted:
    """A file in the audio store under its audio id."""

    audio_id: str
    path: Path
    sha256: str
    info: AudioInfo
    new: bool


def suffix_for(info: AudioInfo) -> str:
    """The file suffix for a probed container (what the bytes are, not what the name said)."""
    return _SUFFIXES.get(info.container, ".audio")


def find_audio(settings: Settings, audio_id: str) -> Path | None:
    """The stored original for an audio id, if any."""
    if not is_audio_id(audio_id):
        return None
    for path in settings.audio_dir.glob(f"{audio_id}.*"):
        if path.suffix != ".json" and not path.name.startswith("."):
            return path
    return None


def intake_record(settings: Settings, audio_id: str) -> dict | None:
    """What intake recorded for a stored audio id (sha256, name, probe), if anything."""
    try:
        return json.loads((settings.audio_dir / f"{audio_id}.json").read_text())
    except (OSError, ValueError):
        return None


def find_by_hash(settings: Settings, sha256: str) -> str | None:
    """The audio id already holding these bytes, if any."""
    for meta in settings.audio_dir.glob(f"*-{sha256[:HASH_CHARS]}.json"):
        try:
            if json.loads(meta.read_text())["sha256"] == sha256:
                return meta.stem
        except (OSError, ValueError, KeyError):
            continue
    return None


def accept(settings: Settings, src: Path, *, move: bool, info: AudioInfo | None = None) -> Accepted:
    """Probe a file and store it under its audio id; identical bytes map to one id.

    Args:
      settings: Where the store lives.
      src: The file to take in.
      move: Remove `src` once it is stored (the inbox); otherwise copy it (the CLI).
      info: The probe of `src` when the caller already made it (the CLI probes every file
        before it stores any); probed here otherwise.

    Raises:
      RejectedAudio: the file is not acceptable; `src` is left where it was.
    """
    settings.ensure_dirs()
    info = info or probe(src, settings.max_audio_seconds)
    sha256 = sha256_file(src)
    existing = find_by_hash(settings, sha256)
    if existing:
        stored = find_audio(settings, existing)
        if stored is not None:
            if move:
                src.unlink(missing_ok=True)
            return Accepted(existing, stored, sha256, info, new=False)
    audio_id = audio_id_for(src.name, sha256)
    dest = settings.audio_dir / f"{audio_id}{suffix_for(info)}"
    if move:
        move_atomic(src, dest)  # a rename in one local folder; an upload and delete to an object store
    else:
        copy_atomic(src, dest)
    # What intake learnt travels with the partition: the `audio` asset neither probes nor hashes again.
    meta = {
        "audio_id": audio_id,
        "sha256": sha256,
        "original_name": name_record(src.name),
        "received_at": time.time(),
        "probe": info.record(),
    }
    write_json_atomic(meta, settings.audio_dir / f"{audio_id}.json")
    return Accepted(audio_id, dest, sha256, info, new=True)


def quarantine(settings: Settings, src: Path, reason: str) -> str:
    """Move a rejected inbox file aside with its reason; returns the id `status` knows it by."""
    settings.ensure_dirs()
    try:
        sha = sha256_file(src) if src.is_file() and not src.is_symlink() else uuid.uuid4().hex
    except OSError:
        sha = uuid.uuid4().hex
    qid = audio_id_for(src.name, sha)
    # Copes with another filesystem or an object store; a file it cannot move stays where it was.
    move_atomic(src, settings.quarantine / qid)
    write_json_atomic(
        {"audio_id": qid, "original_name": name_record(src.name), "reason": reason, "at": time.time()},
        settings.quarantine / f"{qid}.reason.json",
    )
    return qid


def rejection(settings: Settings, audio_id: str) -> str | None:
    """The reason an id was quarantined, if it was."""
    path = settings.quarantine / f"{audio_id}.reason.json"
    if not is_audio_id(audio_id) or not path.is_file():
        return None
    return json.loads(path.read_text())["reason"]


def quarantined(settings: Settings) -> list[dict]:
    """Every quarantine record (audio_id, original_name, reason, at), oldest first."""
    records = []
    for path in settings.quarantine.glob("*.reason.json"):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return sorted(records, key=lambda r: (r.get("at", 0), r.get("audio_id", "")))
