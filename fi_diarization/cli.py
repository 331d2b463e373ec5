"""`fi-diarization transcribe | submit | status | result`."""

from __future__ import annotations

import gc
import logging
import os
import sys
from pathlib import Path

import click

from .settings import SAMPLE_AUDIO, DataRootError, get_settings

__all__ = ["cli", "main", "entry"]

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
    from .results import read_result
    from .results.formats import render

    result = read_result(audio_id)
    if result is None:
        raise Failed(f"no materialized transcript for {audio_id}")
    if fmt == "path":
        return f"{result.meta.path}\n"
    meta = result.meta
    return render(
        fmt, result.segments, audio_id=audio_id, duration_s=meta.duration_s, language=meta.language,
        speaker_count=meta.speaker_count,
    )


def _run_options(fields: dict):
    """The run options, validated once by `RunOptions`; the model must resolve here too."""
    from pydantic import ValidationError

    from .options import RunOptions
    from .speech.models import ModelSpecError, resolve_model

    try:
        options = RunOptions(**{k: v for k, v in fields.items() if v not in (None, (), [])})
        resolve_model(options.model)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInput(f"{where + ': ' if where else ''}{first['msg']}") from None
    except ModelSpecError as err:
        raise BadInput(str(err)) from None
    return options


def _ready_settings():
    """The settings, with the data root checked (a missing bucket is bad input, said once)."""
    settings = get_settings()
    try:
        settings.ensure_dirs()
    except DataRootError as err:
        raise BadInput(str(err)) from None
    return settings


def _probe_all(paths: list[Path], settings):
    """Every file is probed before any is stored or run; one bad file stops them all."""
    from .audio.ids import shown_name
    from .audio.probe import RejectedAudio, probe

    probed = []
    for path in paths:
        try:
            probed.append(probe(path, settings.max_audio_seconds))
        except RejectedAudio as err:
            raise BadInput(str(err)) from None
        except OSError as err:  # e.g. no permission to read it
            raise BadInput(f"{shown_name(path.name)}: {(err.strerror or str(err)).lower()}") from None
    return probed


def _transcribe_one(instance, settings, audio_id: str, options, *, force: bool, verbose: bool) -> bool:
    """Answer from the materialized transcript when it has these options, else run the job."""
    from .results import result_meta
    from .runner import run_partition

    meta = result_meta(audio_id, settings)
    if meta is not None and meta.fingerprint == options.fingerprint() and not force:
        click.echo(f"{audio_id}: answered from the materialized transcript", err=True)
        return True
    outcome = run_partition(instance, audio_id, options, source="cli", verbose=verbose)
    if not outcome.success:
        click.echo(f"fi-diarization: {audio_id} failed: {outcome.reason}", err=True)
        return False
    for notice in outcome.notices:
        click.echo(f"fi-diarization: {notice}", err=True)
    return True


def _imports_done() -> None:
    """After `entry` kept the collector off through the imports: set their objects aside, turn it on."""
    from . import definitions  # noqa: F401  (the job's modules: imported now, set aside with the rest)

    if not gc.isenabled():
        gc.freeze()
        gc.enable()


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--sample", is_flag=True, help="Transcribe the sample conversation that ships with the package.")
@click.option("--num-speakers", type=int, help="Exact number of speakers.")
@click.option("--min-speakers", type=int, default=1, show_default=True)
@click.option("--max-speakers", type=int, default=8, show_default=True)
@click.option("--language", default="auto", show_default=True, help="auto, en, es, …")
@click.option("--model", default=None, help="bundled:tiny.en, bundled:base, a size name or a CTranslate2 folder.")
@click.option("--role", "roles", multiple=True, help="A role the LLM may assign (repeat); default doctor/patient/companion/other.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--force", is_flag=True, help="Recompute even when a result with these options exists.")
@click.option("-v", "--verbose", is_flag=True, help="Show Dagster's own log lines.")
def transcribe(paths, sample, num_speakers, min_speakers, max_speakers, language, model, roles, fmt, force, verbose) -> None:
    """Register each file as a partition, materialize every asset for it, print the result."""
    from .audio.intake import accept
    from .event_log import keep_connections
    from .status import open_instance

    paths = list(paths) + ([SAMPLE_AUDIO] if sample else [])
    if not paths:
        raise BadInput("give one or more audio files, or --sample")
    options = _run_options(
        {"language": language, "num_speakers": num_speakers, "min_speakers": min_speakers,
         "max_speakers": max_speakers, "model": model, "roles": list(roles)}
    )
    settings = _ready_settings()
    probed = _probe_all(paths, settings)
    accepted = [accept(settings, path, move=False, info=info) for path, info in zip(paths, probed)]
    instance = open_instance(settings)
    _imports_done()
    keep_connections(instance)  # this process runs the job and ends
    failed = False
    for item in accepted:
        if _transcribe_one(instance, settings, item.audio_id, options, force=force, verbose=verbose):
            click.echo(_render(item.audio_id, fmt), nl=False)
        else:
            failed = True
    if failed:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def submit(paths) -> None:
    """Copy each file into the inbox atomically and print its audio id."""
    from .audio.ids import audio_id_for
    from .audio.intake import find_by_hash, suffix_for
    from .audio.probe import sha256_file
    from .store import copy_atomic

    settings = _ready_settings()
    for path, info in zip(paths, _probe_all(list(paths), settings)):
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


def entry() -> None:
    """The `fi-diarization` command: `main`, the collector off through its imports, no teardown at exit.

    Every result is written (write-then-rename) and printed before this returns; tearing down
    the loaded models, Dagster and the thread pools took ~0.9 s of a 30 s file's ~10 s,
    measured, and finished nothing the user waits for.
    """
    # The objects that imports make (~390 000: dagster, pandas, the job's modules) live as long
    # as the process, yet Python's collector walked them at each of a 30-second file's 5 full
    # collections: 0.4-0.55 s of the main thread (gc.callbacks; 0.6-0.7 s with the young ones).
    # Off while modules import, then `_imports_done` freezes what they made and turns it on for
    # the run: 0.09-0.10 s of collection in all. The commands that never turn it on are short.
    gc.disable()
    code = main()
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `| head`: what was wanted was read
        pass
    os._exit(code)


if __name__ == "__main__":
    entry()
