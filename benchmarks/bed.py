"""The human-voice bed: WER against plain faster-whisper, and who-spoke figures, per file.

    .venv/bin/python benchmarks/bed.py [--split tune|check] [--dir DIR] [--en-model bundled:tiny.en] [--es-model bundled:base]

Runs the project's own logic (the chunk plan, batched transcription, speaker turns) on each
file of `fi_diarization_tests/bed/` next to plain `BatchedInferencePipeline` with the same
model on the same decoded audio, and prints a Markdown table (kept in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from diarization_metrics import der  # noqa: E402

from fi_diarization_tests.bed import BED_DIR, bed_files  # noqa: E402

ES_MODEL = "bundled:base"  # multilingual: tiny.en has no Spanish


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    clean = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()])
    return jiwer.wer(clean(reference), clean(hypothesis))


def plain_text(loaded, audio) -> str:
    segments, _ = loaded.pipeline.transcribe(audio, batch_size=8)
    return " ".join(s.text.strip() for s in segments)


def pipeline_text(loaded, audio) -> str:
    from fi_diarization.audio.samples import voiced_regions
    from fi_diarization.speech.chunking import CHUNK_VAD, plan_chunks
    from fi_diarization.speech.transcribe import detect_language, transcribe_chunks

    chunks = list(enumerate(plan_chunks(voiced_regions(audio, CHUNK_VAD))))
    language = detect_language(loaded, audio, chunks, "auto")
    texts = []
    for i in range(0, len(chunks), 8):
        for segments in transcribe_chunks(loaded, audio, chunks[i : i + 8], language).values():
            texts.extend(s.text for s in segments)
    return " ".join(texts)


def speaker_figures(audio, truth: dict) -> dict:
    from fi_diarization.audio.samples import voiced_regions
    from fi_diarization.speakers.embeddings import embed_windows
    from fi_diarization.speakers.turns import SPEAKER_VAD, fringe_windows, turns_from_windows

    regions = voiced_regions(audio, SPEAKER_VAD)
    embeddings, spans = embed_windows(audio, regions)
    fringe = fringe_windows(audio, regions)
    # With the audio, as `transcribe --num-speakers` runs it: ECAPA may cluster where resemblyzer is unsure.
    given, _ = turns_from_windows(regions, embeddings, spans, truth["num_speakers"], fringe=fringe, audio=audio)
    estimated, estimate = turns_from_windows(regions, embeddings, spans, fringe=fringe, audio=audio)
    return {
        "der_given": der(truth["segments"], given),
        "der_estimated": der(truth["segments"], estimated),
        "der_given_no_overlap": der(truth["segments"], given, skip_overlap=True),
        "found": estimate.count,
        "confidence": estimate.confidence,
        "alternative": estimate.alternative,
        "encoder": estimate.encoder,
    }


def bed_rows(files, en_model: str, es_model: str, asr: bool = True) -> Iterator[str]:
    """The Markdown table, a row per bed file as it is measured (`asr=False`: speaker figures only)."""
    from faster_whisper import decode_audio

    from fi_diarization.speech.models import load_model

    yield "| file | split | speakers | WER plain | WER pipeline | DER given | DER estimated | found (confidence, heard by) |"
    yield "|---|---|---|---|---|---|---|---|"
    for truth in files:
        audio = decode_audio(truth["path"], sampling_rate=16000)
        reference = " ".join(s["text"] for s in sorted(truth["segments"], key=lambda s: s["start"]))
        words = ("", "")
        if asr:
            loaded = load_model(es_model if truth["language"] == "es" else en_model)
            words = (f"{wer(reference, plain_text(loaded, audio)):.1%}", f"{wer(reference, pipeline_text(loaded, audio)):.1%}")
        fig = speaker_figures(audio, truth)
        unsure = f", or {fig['alternative']}?" if fig["alternative"] is not None else ""
        unsure += ", ECAPA" if fig["encoder"] == "ecapa" else ""
        overlap = f" ({fig['der_given_no_overlap']:.1%} outside overlap)" if "overlap" in " ".join(truth["conditions"]) else ""
        yield (
            f"| {Path(truth['path']).stem} | {truth['split']} | {truth['num_speakers']} | {words[0]} | {words[1]} | "
            f"{fig['der_given']:.1%}{overlap} | {fig['der_estimated']:.1%} | {fig['found']} ({fig['confidence']:.2f}{unsure}) |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tune", "check"), default=None)
    parser.add_argument("--dir", type=Path, default=None, help="the bed files in DIR (make_bed.py --extra DIR)")
    parser.add_argument("--en-model", default="bundled:tiny.en")
    parser.add_argument("--es-model", default=ES_MODEL)
    parser.add_argument("--no-asr", action="store_true", help="speaker figures only")
    args = parser.parse_args()
    files = bed_files(args.split, args.dir or BED_DIR)
    for row in bed_rows(files, args.en_model, args.es_model, asr=not args.no_asr):
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
