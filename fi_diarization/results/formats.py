"""Render a speaker-attributed transcript as table, JSON, text, SRT, WebVTT or RTTM."""

from __future__ import annotations

import datetime
import json
import math
import re
import shutil
from io import StringIO
from typing import Any

import pandas as pd
import srt
import webvtt
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = [
    "FORMATS",
    "render",
    "to_table",
    "to_json",
    "to_txt",
    "to_srt",
    "to_vtt",
    "to_rttm",
]

FORMATS = ("table", "json", "txt", "srt", "vtt", "rttm")

# Same-speaker segments closer than this count as touching in RTTM (transcript
# times are stored to the millisecond, so float noise stays below it).
_RTTM_TOUCH_S = 0.001


def render(
    fmt: str,
    transcript: pd.DataFrame,
    *,
    audio_id: str,
    duration_s: float,
    language: str,
    speaker_count: dict | None = None,
) -> str:
    """Renders a transcript in one of ``FORMATS``.

    Every renderer returns a complete document that ends with a newline, or an
    empty string where the format's empty document is empty (txt, srt, rttm),
    so callers should write it without adding another newline.

    Args:
        fmt: One of ``FORMATS``.
        transcript: One row per segment with at least ``start``, ``end``,
            ``speaker``, ``role`` and ``text``; may have zero rows.
        audio_id: The audio id, used where the format names the file.
        duration_s: Duration of the audio in seconds.
        language: Language code of the transcript.
        speaker_count: How the speaker count was reached (JSON only).

    Returns:
        The rendered document.

    Raises:
        ValueError: If ``fmt`` is not one of ``FORMATS``.
    """
    renderers = {
        "table": to_table,
        "json": to_json,
        "txt": to_txt,
        "srt": to_srt,
        "vtt": to_vtt,
        "rttm": to_rttm,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    extra = {"speaker_count": speaker_count} if fmt == "json" else {}
    return renderers[fmt](transcript, audio_id=audio_id, duration_s=duration_s, language=language, **extra)


def to_table(
    transcript: pd.DataFrame,
    *,
    audio_id: str,
    duration_s: float,
    language: str,
    width: int | None = None,
) -> str:
    """Renders a plain-text table (start, end, speaker, role, text) for a terminal.

    Args:
        width: Table width in columns; defaults to the terminal's width.
    """
    table = Table(
        title=f"{audio_id} · {language} · {_clock(duration_s)}",
        caption=None if len(transcript) else "no speech",
    )
    for name in ("start", "end", "speaker", "role"):
        table.add_column(name, no_wrap=True)
    table.add_column("text", overflow="fold", ratio=1)
    for seg in _segments(transcript):
        # Text cells, not str: a transcript containing "[...]" is not rich markup.
        table.add_row(
            _clock(seg["start"]),
            _clock(seg["end"]),
            Text(seg["speaker"]),
            Text(seg["role"] or ""),
            Text(seg["text"]),
        )
    width = width or shutil.get_terminal_size((100, 24)).columns
    buffer = StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(table)
    return buffer.getvalue()


def to_json(
    transcript: pd.DataFrame, *, audio_id: str, duration_s: float, language: str, speaker_count: dict | None = None
) -> str:
    """Renders the JSON document fixed by the spec's "Results" section.

    Speakers are listed by first appearance, each with its first known role;
    a missing role is ``null``; times are rounded to the millisecond. The extra
    ``speaker_count`` key says how the count was reached (given / estimated /
    llm) and how sure the estimate was.
    """
    segments = _segments(transcript)
    roles: dict[str, str | None] = {}
    for seg in segments:
        if roles.get(seg["speaker"]) is None:
            roles[seg["speaker"]] = seg["role"]
    document = {
        "audio_id": audio_id,
        "duration_s": round(float(duration_s), 3),
        "language": language,
        "speakers": [{"speaker": speaker, "role": role} for speaker, role in roles.items()],
        "segments": segments,
        "speaker_count": speaker_count,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def to_txt(transcript: pd.DataFrame, *, audio_id: str, duration_s: float, language: str) -> str:
    """Renders one ``[MM:SS.cc] SPEAKER_00 (role): text`` line per speaker turn.

    Consecutive segments of the same speaker are merged into one turn.
    """
    lines = [
        f"[{_clock(turn['start'])}] {_label(turn)}: {turn['text']}"
        for turn in _merge(_segments(transcript))
        if turn["text"]
    ]
    return "".join(line + "\n" for line in lines)


def to_srt(transcript: pd.DataFrame, *, audio_id: str, duration_s: float, language: str) -> str:
    """Renders SubRip cues with ``SPEAKER_00 (role): text`` as the cue text."""
    subtitles = [
        srt.Subtitle(
            index=None,
            start=datetime.timedelta(milliseconds=start_ms),
            end=datetime.timedelta(milliseconds=end_ms),
            content=f"{_label(seg)}: {seg['text']}",
        )
        for seg, start_ms, end_ms in _cues(transcript)
    ]
    return srt.compose(subtitles)


def to_vtt(transcript: pd.DataFrame, *, audio_id: str, duration_s: float, language: str) -> str:
    """Renders WebVTT cues whose speaker is a voice span: ``<v SPEAKER_00 (role)>text``."""
    captions = [
        webvtt.Caption(
            start=_vtt_time(start_ms),
            end=_vtt_time(end_ms),
            # webvtt-py writes cue text verbatim, so &, < and > are escaped here.
            text=f"<v {_vtt_escape(_label(seg))}>{_vtt_escape(seg['text'])}",
        )
        for seg, start_ms, end_ms in _cues(transcript)
    ]
    return webvtt.WebVTT(captions=captions).content


def to_rttm(transcript: pd.DataFrame, *, audio_id: str, duration_s: float, language: str) -> str:
    """Renders NIST RTTM ``SPEAKER`` lines, one per speech turn.

    Adjacent segments of the same speaker that touch (no gap) are merged; the
    file id is ``audio_id``.
    """
    # No maintained, lightweight RTTM writer exists on PyPI: pyannote.core can
    # write RTTM but pulls in a heavy scientific stack for ten fields a line.
    file_id = re.sub(r"\s+", "_", audio_id) or "NA"
    lines = []
    for turn in _merge(_segments(transcript), max_gap=_RTTM_TOUCH_S):
        duration = max(turn["end"] - turn["start"], 0.0)
        lines.append(
            f"SPEAKER {file_id} 1 {turn['start']:.3f} {duration:.3f} "
            f"<NA> <NA> {turn['speaker']} <NA> <NA>"
        )
    return "".join(line + "\n" for line in lines)


def _segments(transcript: pd.DataFrame) -> list[dict[str, Any]]:
    if transcript.empty:
        return []
    rows = transcript.sort_values(["start", "end"], kind="stable")
    return [
        {
            "start": round(float(row["start"]), 3),
            "end": round(float(row["end"]), 3),
            "speaker": str(row["speaker"]),
            "role": _optional_str(row.get("role")),
            "text": " ".join(str(_optional_str(row["text"]) or "").split()),
        }
        for row in rows.to_dict("records")
    ]


def _optional_str(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value).strip() or None


def _merge(
    segments: list[dict[str, Any]], max_gap: float = math.inf
) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for seg in segments:
        last = turns[-1] if turns else None
        if last and last["speaker"] == seg["speaker"] and seg["start"] - last["end"] <= max_gap:
            last["end"] = max(last["end"], seg["end"])
            last["text"] = " ".join(t for t in (last["text"], seg["text"]) if t)
            last["role"] = last["role"] or seg["role"]
        else:
            turns.append(dict(seg))
    return turns


def _cues(transcript: pd.DataFrame) -> list[tuple[dict[str, Any], int, int]]:
    # Segments without text or duration are left out: srt.compose drops them
    # anyway, and SRT and WebVTT should list the same cues.
    cues = []
    for seg in _segments(transcript):
        start_ms, end_ms = round(seg["start"] * 1000), round(seg["end"] * 1000)
        if seg["text"] and end_ms > start_ms >= 0:
            cues.append((seg, start_ms, end_ms))
    return cues


def _label(seg: dict[str, Any]) -> str:
    return f"{seg['speaker']} ({seg['role']})" if seg["role"] else seg["speaker"]


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_time(ms: int) -> str:
    # Formatted here: Timestamp.from_seconds is not in every webvtt-py >= 0.5.
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _clock(seconds: float) -> str:
    centis = round(max(float(seconds), 0.0) * 100)
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6_000)
    clock = f"{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"
    return f"{hours}:{clock}" if hours else clock
