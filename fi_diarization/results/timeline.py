"""What one transcript looks like to a person: a speaker timeline, talk shares, the first turns."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd

from .formats import to_txt
from .plots import clock_label, md_escape

__all__ = ["talk_share", "timeline_png", "preview_markdown", "ROLE_COLOURS", "NO_ROLE_COLOUR"]

# Colour-blind-safe (Okabe–Ito); a role's colour is its place in the run's role list.
ROLE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
NO_ROLE_COLOUR = "#9E9E9E"


def _speakers(segments: pd.DataFrame) -> list[str]:
    """Speakers in order of first appearance (SPEAKER_00 first)."""
    return list(dict.fromkeys(segments.sort_values("start", kind="stable")["speaker"].astype(str)))


def _role_of(segments: pd.DataFrame) -> dict[str, str | None]:
    """Each speaker's first non-empty role, or None."""
    roles: dict[str, str | None] = {}
    column = segments["role"] if "role" in segments else pd.Series([None] * len(segments), index=segments.index)
    for speaker, role in zip(segments["speaker"].astype(str), column):
        if roles.get(speaker) is None:
            roles[speaker] = None if role is None or pd.isna(role) or not str(role).strip() else str(role)
    return roles


def talk_share(segments: pd.DataFrame) -> dict[str, float]:
    """Each speaker's share of the talk time (segment seconds), summing to 1; empty without speech."""
    if segments.empty:
        return {}
    seconds = (segments["end"] - segments["start"]).clip(lower=0).groupby(segments["speaker"].astype(str)).sum()
    total = float(seconds.sum())
    return {s: (float(seconds[s]) / total if total else 0.0) for s in _speakers(segments)}


# The picture's geometry in pixels (the size the Dagster UI shows it at).
_WIDTH, _LANE, _TOP, _BOTTOM, _RIGHT = 720, 36, 26, 44, 16
# Tick spacings the time axis chooses from: the smallest that leaves at most eight ticks.
_TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
_INK, _GRID = "#333333", "#E6E6E6"


def timeline_png(segments: pd.DataFrame, duration_s: float, roles: Sequence[str] = ()) -> bytes:
    """One lane per speaker, bars coloured by role, a mm:ss time axis; a PNG drawn with Pillow.

    Pillow and not matplotlib, which the stats dashboard uses: this picture is drawn in every
    run, and matplotlib's import took 0.8-0.9 s of one core beside Whisper in a 30-second file's
    ~8.5 s run on two cores (py-spy); Pillow's takes ~10 ms.

    Args:
      segments: Transcript rows with start, end, speaker and (optional) role.
      duration_s: The audio's length: the axis spans all of it, silences included.
      roles: The run's closed role set; a role's colour is its position here, so the same role
        has the same colour on every file of a run configuration.
    """
    from PIL import Image, ImageDraw, ImageFont

    speakers = _speakers(segments) if not segments.empty else []
    role_of = _role_of(segments) if not segments.empty else {}
    palette = {r: ROLE_COLOURS[i % len(ROLE_COLOURS)] for i, r in enumerate(roles)}
    for role in role_of.values():  # a role outside the configured set still gets its own colour
        if role is not None and role not in palette:
            palette[role] = ROLE_COLOURS[len(palette) % len(ROLE_COLOURS)]
    font = ImageFont.load_default(size=12)
    labels = [f"{s} ({role_of[s]})" if role_of[s] else s for s in speakers]
    x0 = round(20 + max((font.getlength(label) for label in labels), default=0.0))
    x1, y0 = _WIDTH - _RIGHT, _TOP
    y1 = y0 + _LANE * max(len(speakers), 1)
    image = Image.new("RGB", (_WIDTH, y1 + _BOTTOM), "white")
    draw = ImageDraw.Draw(image)
    span = max(float(duration_s), 1.0)

    def at(seconds: float) -> float:
        return x0 + (x1 - x0) * min(max(float(seconds), 0.0), span) / span

    step = next((s for s in _TICK_STEPS_S if span / s <= 8), _TICK_STEPS_S[-1])
    for k in range(int(span // step) + 1):
        x = round(at(k * step))
        draw.line([(x, y0), (x, y1)], fill=_GRID)
        draw.line([(x, y1), (x, y1 + 4)], fill=_INK)
        draw.text((x, y1 + 6), clock_label(k * step), fill=_INK, font=font, anchor="mt")
    draw.rectangle([x0, y0, x1, y1], outline=_INK)
    for lane, (speaker, label) in enumerate(zip(speakers, labels)):
        top, bottom = y0 + lane * _LANE + 0.15 * _LANE, y0 + lane * _LANE + 0.85 * _LANE
        colour = palette.get(role_of[speaker], NO_ROLE_COLOUR)
        rows = segments[segments["speaker"].astype(str) == speaker]
        for start, end in zip(rows["start"], rows["end"]):
            left = at(start)
            draw.rectangle([left, top, max(at(end), left + 1.0), bottom], fill=colour)  # a word is a pixel at least
        draw.text((x0 - 8, (top + bottom) / 2), label, fill=_INK, font=font, anchor="rm")
    draw.text(((x0 + x1) / 2, image.height - 4), "time (mm:ss)", fill=_INK, font=font, anchor="md")
    if not speakers:
        draw.text(((x0 + x1) / 2, (y0 + y1) / 2), "no speech", fill="#555555", font=font, anchor="mm")
    right = x1  # the legend, right-aligned above the lanes: a swatch, then the role
    for role in reversed(list(dict.fromkeys(role_of.values()))):
        name = role or "no role"
        right -= font.getlength(name)
        draw.text((right, y0 / 2), name, fill=_INK, font=font, anchor="lm")
        draw.rectangle([right - 16, y0 / 2 - 5, right - 6, y0 / 2 + 5], fill=palette.get(role, NO_ROLE_COLOUR))
        right -= 30
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def preview_markdown(segments: pd.DataFrame, turns: int = 8, max_chars: int = 990, line_chars: int = 110) -> str:
    """The first turns as Markdown lines `[mm:ss.cc] speaker (role): text`, text escaped.

    At most `turns` turns of at most `line_chars` characters each, and `max_chars` in all: the
    Dagster UI shows a Markdown value under 1000 characters in the metadata table itself and
    folds a longer one behind a "[Show Markdown]" button.
    """
    lines = to_txt(segments, audio_id="", duration_s=0.0, language="").splitlines()
    if not lines:
        return "*no speech*"
    shown: list[str] = []
    for line in lines[:turns]:
        cut = line if len(line) <= line_chars else line[: line_chars - 1].rstrip() + "…"
        item = f"- {md_escape(cut)}"
        if sum(len(x) + 1 for x in shown) + len(item) > max_chars - 40:  # room for the closing note
            break
        shown.append(item)
    more = len(lines) - len(shown)
    return "\n".join(shown + ([f"\n*… {more} more turn{'s' if more > 1 else ''}*"] if more > 0 else []))
