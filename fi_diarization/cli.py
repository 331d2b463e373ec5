"""`fi-diarization transcribe | submit | status | result`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .settings import SAMPLE_AUDIO, get_settings

__all__ = ["cli", "main"]

# formats.FORMATS, repeated so that `--help` does not import pandas, rich and the writers.
FORMATS = ("table", "json", "txt", "srt", "vtt", "rttm")


class Failed(click.ClickException):
    """One line on stderr and exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"fi-diarization: error: {self.format_message()}", err=True)


class BadInput(Failed):
    """Bad input: one line on stderr and exit code 2."""

    exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Offline speaker-attributed transcripts with Dagster."""


def _render(audio_id: str, fmt: str) -> str:
    from .formats import render
    from .results import read_result

    result = read_result(audio_id)
    if result is None:
        raise Failed(f"no materialized transcript for {audio_id}")
    if fmt == "path":
        return f"{result.meta.path}\n"
    return render(fmt, result.segments, audio_id=audio_id, duration_s=result.meta.duration_s, language=result.meta.language)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--sample", is_flag=True, help="Transcribe the sample conversation that ships with the package.")
@click.option("--num-speakers", type=click.IntRange(min=1), help="Exact number of speakers.")
@click.option("--min-speakers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--max-speakers", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--language", default="auto", show_default=True, help="auto, en, es, …")
@click.option("--model", default=None, help="bundled:tiny.en, bundled:base, a size name or a CTranslate2 folder.")
@click.option("--role", "roles", multiple=True, help="A role the LLM may assign (repeat); default doctor/patient/companion/other.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--force", is_flag=True, help="Recompute even when a result with these options exists.")
@click.option("-v", "--verbose", is_flag=True, help="Show Dagster's own log lines.")
def transcribe(paths, sample, num_speakers, min_speakers, max_speakers, language, model, roles, fmt, force, verbose) -> None:
    """Register each file as a partition, materialize every asset for it, print the result."""
    from pydantic import ValidationError

    from .inbox import accept
    from .options import TranscriptionConfig
    from .probe import RejectedAudio, probe
    from .resources.whisper import ModelSpecError, resolve_model
    from .results import result_meta
    from .runner import run_partition
    from .status import open_instance

    paths = list(paths) + ([SAMPLE_AUDIO] if sample else [])
    if not paths:
        raise BadInput("give one or more audio files, or --sample")
    fields = {"language": language, "num_speakers": num_speakers, "min_speakers": min_speakers, "max_speakers": max_speakers}
    fields |= {"model": model} if model else {}
    fields |= {"roles": list(roles)} if roles else {}
    try:
        config = TranscriptionConfig(**fields).validated()
        resolve_model(config.model)
    except (ValidationError, ValueError, ModelSpecError) as err:
        raise BadInput(str(err).splitlines()[0]) from None
    settings = get_settings()
    for path in paths:  # every file is checked before any is stored or run
        try:
            probe(path, settings.max_audio_seconds)
        except RejectedAudio as err:
            raise BadInput(str(err)) from None
    accepted = [accept(settings, path, move=False) for path in paths]
    instance = open_instance(settings)
    failed = False
    for item in accepted:
        meta = result_meta(item.audio_id, settings)
        if meta is not None and meta.fingerprint == config.fingerprint() and not force:
            click.echo(f"{item.audio_id}: answered from the materialized transcript", err=True)
        else:
            outcome = run_partition(instance, item.audio_id, config, source="cli", verbose=verbose)
            if not outcome.success:
                click.echo(f"fi-diarization: {item.audio_id} failed: {outcome.reason}", err=True)
                failed = True
                continue
            if outcome.notice:
                click.echo(f"fi-diarization: {outcome.notice}", err=True)
        click.echo(_render(item.audio_id, fmt), nl=False)
    if failed:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def submit(paths) -> None:
    """Copy each file into the inbox atomically and print its audio id."""
    from .inbox import copy_atomic, find_by_hash, suffix_for
    from .partitions import audio_id_for
    from .probe import RejectedAudio, probe, sha256_file

    settings = get_settings()
    settings.ensure_dirs()
    checked = []
    for path in paths:
        try:
            info = probe(path, settings.max_audio_seconds)
        except RejectedAudio as err:
            raise BadInput(str(err)) from None
        checked.append((path, info))
    for path, info in checked:
        sha256 = sha256_file(path)
        existing = find_by_hash(settings, sha256)
        if existing:
            click.echo(existing)
            continue
        audio_id = audio_id_for(path.name, sha256)
        copy_atomic(path, settings.inbox / f"{audio_id}{suffix_for(info)}")
        click.echo(audio_id)


@cli.command()
@click.argument("audio_id", required=False)
def status(audio_id) -> None:
    """queued / running / done / failed: reason / rejected: reason, per audio id."""
    from .status import audio_status, known_audio_ids, open_instance

    settings = get_settings()
    instance = open_instance(settings)
    ids = [audio_id] if audio_id else known_audio_ids(settings)
    for each in ids:
        state = audio_status(instance, settings, each)
        click.echo(f"{each}\t{state}")
    if audio_id and state == "unknown":
        sys.exit(1)


@cli.command()
@click.argument("audio_id")
@click.option("--format", "fmt", type=click.Choice(FORMATS[1:] + ("table", "path")), default="json", show_default=True)
def result(audio_id, fmt) -> None:
    """Print a materialized transcript; reads Parquet only and never runs a model."""
    click.echo(_render(audio_id, fmt), nl=False)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="fi-diarization", standalone_mode=True)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
