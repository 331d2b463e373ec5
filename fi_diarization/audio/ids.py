"""Audio ids: a readable slug of the name plus the content hash, also the partition key."""

from __future__ import annotations

import re

__all__ = ["audio_id_for", "is_audio_id", "HASH_CHARS"]

HASH_CHARS = 12
_SLUG_CHARS = 40
_AUDIO_ID = re.compile(rf"^[a-z0-9_]{{1,{_SLUG_CHARS}}}-[0-9a-f]{{{HASH_CHARS}}}$")


def _slug(stem: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    return slug[:_SLUG_CHARS].strip("_") or "audio"


def audio_id_for(name: str, sha256: str) -> str:
    """`<slug of the name>-<12 hex of the content hash>`: safe, readable, stable.

    A name that already is the audio id of these bytes (as `submit` writes it) is kept.
    """
    stem = name.rsplit(".", 1)[0] if "." in name else name
    suffix = f"-{sha256[:HASH_CHARS]}"
    if stem.endswith(suffix) and is_audio_id(stem):
        return stem
    return _slug(stem) + suffix


def is_audio_id(value: str) -> bool:
    """Whether `value` has the shape of an audio id (and so of a partition key)."""
    return bool(_AUDIO_ID.match(value))
