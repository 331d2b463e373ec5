"""What one transcript looks like to a person: a speaker timeline, talk shares, the first turns."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .formats import to_txt
from .plots import clock_label, figure, md_escape, png_bytes

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


def timeline_png(segments: pd.DataFrame, duration_s: float, roles: Sequence[str] = ()) -> bytes:
    """One lane per speaker, bars coloured by role, a mm:ss time axis; a PNG.

    Args:
      segments: Transcript rows with start, end, speaker and (optional) role.
      duration_s: The audio's length: the axis spans all of it, silences included.
      roles: The run's closed role set; a role's colour is its position here, so the same role
        has the same colour on every file of a run configuration.
    """
    speakers = _speakers(segments) if not segments.empty else []
    role_of = _role_of(segments) if not segments.empty else {}
    palette = {r: ROLE_COLOURS[i % len(ROLE_COLOURS)] for i, r in enumerate(roles)}
    for role in role_of.values():  # a role outside the configured set still gets its own colour
        if role is not None and role not in palette:
            palette[role] = ROLE_COLOURS[len(palette) % len(ROLE_COLOURS)]
    fig = figure(9.0, 0.9 + 0.45 * max(len(speakers), 1))
    ax = fig.add_subplot()
    for lane, speaker in enumerate(speakers):
        rows = segments[segments["speaker"].astype(str) == speaker]
        bars = [(float(s), max(float(e) - float(s), 0.05)) for s, e in zip(rows["start"], rows["end"])]
        ax.broken_barh(bars, (lane - 0.35, 0.7), facecolors=palette.get(role_of[speaker], NO_ROLE_COLOUR))
    ax.set_yticks(range(len(speakers)), [f"{s} ({role_of[s]})" if role_of[s] else s for s in speakers])
    ax.set_ylim(len(speakers) - 0.5 if speakers else 0.5, -0.5)
    ax.set_xlim(0, max(float(duration_s), 1.0))
    ax.xaxis.set_major_formatter(clock_label)
    ax.set_xlabel("time (mm:ss)")
    ax.grid(axis="x", alpha=0.3)
    if not speakers:
        ax.text(0.5, 0.5, "no speech", transform=ax.transAxes, ha="center", va="center", color="#555555")
    used = list(dict.fromkeys(role_of.values()))
    if used:
        from matplotlib.patches import Patch

        handles = [Patch(color=palette.get(r, NO_ROLE_COLOUR), label=r or "no role") for r in used]
        ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=len(handles), frameon=False,
                  fontsize="small", borderaxespad=0.2)
    return png_bytes(fig)


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
