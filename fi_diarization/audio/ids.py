"""Audio ids (a readable slug of the name plus the content hash, also the partition key) and names.

A file name is metadata: it never becomes a path (the store, the inbox copy and quarantine
use the audio id), so any name the filesystem allows is accepted, kept, and shown escaped.
"""

from __future__ import annotations

import re

__all__ = ["audio_id_for", "is_audio_id", "HASH_CHARS", "shown_name", "name_record"]

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


_SHOWN_CHARS = 80
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    # As repr() does: control, format (bidi overrides), separator (U+2028 breaks a line) and
    # unassigned characters would confuse a terminal or a log line; letters of every script pass.
    if not ch.isprintable():
        return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return ch


def shown_name(name: str, limit: int = _SHOWN_CHARS) -> str:
    """A file name as printed: control characters and undecodable bytes escaped, cut in the middle when long."""
    shown = "".join(_escape(ch) for ch in name)
    if len(shown) <= limit:
        return shown
    tail = max(12, limit // 3)
    return f"{shown[: limit - tail - 1]}…{shown[-tail:]}"


def name_record(name: str) -> str:
    """A file name as stored in JSON: itself, or with undecodable bytes as `\\xNN` (JSON needs UTF-8)."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
