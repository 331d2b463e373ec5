"""Asset checks on each transcript: words cover the speech, no empty segments, speaker count, roles."""

import warnings

import dagster as dg
import pandas as pd

from ..results.plots import clock_label
from ..results.quality import MAX_VOICED_GAP_S, empty_segments, voiced_holes
from .config import options_of
from .partitions import audio_files

__all__ = ["TRANSCRIPT_CHECKS"]

_ON_TRANSCRIPT = {"asset": "transcript", "partitions_def": audio_files}

# A check partitioned like its asset has one result per audio file; Dagster 1.13 calls
# `partitions_def` on a check "preview" and warns at every import (the CLI's stderr included).
warnings.filterwarnings("ignore", "Specifying a partitions_def on an AssetCheckSpec", dg.PreviewWarning)


@dg.asset_check(**_ON_TRANSCRIPT, additional_ins={"chunks": dg.AssetIn("chunks")})
def words_cover_voiced_audio(transcript: pd.DataFrame, chunks: pd.DataFrame) -> dg.AssetCheckResult:
    """No stretch between two words holds more than 10 s of voiced audio (how lost words show)."""
    regions = [(float(r["start"]), float(r["end"])) for regs in chunks["regions"] for r in regs]
    words = [(float(w["start"]), float(w["end"])) for ws in transcript["words"] for w in ws]
    holes = voiced_holes(regions, words)
    description = (
        "; ".join(f"{h.voiced_s:.1f} s voiced without words in {clock_label(h.start)}–{clock_label(h.end)}" for h in holes)
        or f"no stretch of over {MAX_VOICED_GAP_S:.0f} s voiced audio without words"
    )
    return dg.AssetCheckResult(
        passed=not holes,
        description=description,
        metadata={
            "voiced_s": round(sum(e - s for s, e in regions), 2),
            "words": len(words),
            "holes": dg.MetadataValue.json([{"start": h.start, "end": h.end, "voiced_s": h.voiced_s} for h in holes]),
            "longest_hole_voiced_s": max((h.voiced_s for h in holes), default=0.0),
        },
    )


@dg.asset_check(**_ON_TRANSCRIPT, blocking=True)
def no_empty_segments(transcript: pd.DataFrame) -> dg.AssetCheckResult:
    """Every segment has text: a blank one is a cue or a speaker turn with nothing in it."""
    empty = empty_segments(transcript)
    return dg.AssetCheckResult(
        passed=empty.empty,
        description=f"{len(empty)} of {len(transcript)} segments have no text" if len(empty) else "every segment has text",
        metadata={"empty": len(empty), "first_empty_at": dg.MetadataValue.json([round(float(s), 2) for s in empty["start"].head(10)])},
    )


@dg.asset_check(
    **_ON_TRANSCRIPT,
    blocking=True,
    additional_ins={"audio": dg.AssetIn("audio"), "speaker_turns": dg.AssetIn("speaker_turns")},
)
def speaker_count_in_bounds(
    transcript: pd.DataFrame, audio: pd.DataFrame, speaker_turns: pd.DataFrame
) -> dg.AssetCheckResult:
    """The speakers found in the voices are the requested number, or within the requested bounds."""
    options = options_of(audio)
    low, high = (options.num_speakers,) * 2 if options.num_speakers else (options.min_speakers, options.max_speakers)
    voices = int(speaker_turns["speaker"].nunique())
    found = int(transcript["speaker"].nunique())
    bounds = f"{low}" if options.num_speakers else f"[{low}, {high}]"
    # No speech has no speakers: that is the empty transcript, not a wrong count. A voice with no
    # word in the transcript (a cough, a "mm") is no wrong count either: the voices are counted.
    passed = voices == 0 or (low <= voices <= high and found <= high)
    said = f"{voices} speakers" + (f" ({found} with words)" if found != voices else "")
    return dg.AssetCheckResult(
        passed=passed,
        description=f"{said}, requested {bounds}" if voices else "no speech, no speakers",
        metadata={"speakers": found, "voices": voices, "min": low, "max": high},
    )


@dg.asset_check(**_ON_TRANSCRIPT, additional_ins={"speaker_roles": dg.AssetIn("speaker_roles")})
def roles_labelled(transcript: pd.DataFrame, speaker_roles: pd.DataFrame) -> dg.AssetCheckResult:
    """Every speaker has a role when the LLM answered; a warning with the reason when it did not."""
    reasons = [r for r in speaker_roles["reason"].dropna().unique() if r]
    if reasons:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.WARN, description=f"no roles: {reasons[0]}",
            metadata={"reason": reasons[0]},
        )
    labelled = transcript.dropna(subset=["role"])
    missing = sorted(set(transcript["speaker"]) - set(labelled["speaker"]))
    return dg.AssetCheckResult(
        passed=not missing,
        description=f"no role for {', '.join(missing)}" if missing else "every speaker has a role",
        metadata={"unlabelled": dg.MetadataValue.json(missing)},
    )


TRANSCRIPT_CHECKS = [words_cover_voiced_audio, no_empty_segments, speaker_count_in_bounds, roles_labelled]
