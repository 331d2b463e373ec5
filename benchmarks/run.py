"""fi-diarization benchmarks against plain faster-whisper on the same file, in the same run.

    .venv/bin/python benchmarks/run.py [--corpus ../shared/corpus/consult_2spk.wav] [--model bundled:tiny.en]

    .venv/bin/python benchmarks/run.py --only main|bed|wait   # one part

Prints every figure and keeps each part in its own marked block of benchmarks/RESULTS.md (the notes
around the blocks stay). Ratios, never timed asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bed import ES_MODEL, bed_rows, wer  # noqa: E402
from diarization_metrics import der, word_speaker_accuracy  # noqa: E402

from fi_diarization_tests.bed import BED_DIR, bed_files  # noqa: E402

CLI = str(Path(sys.executable).with_name("fi-diarization"))


def project_env(root: Path) -> dict[str, str]:
    dagster_home = root / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    return {"FI_DIARIZATION_HOME": str(root / "data"), "DAGSTER_HOME": str(dagster_home), "OLLAMA_HOST": "http://127.0.0.1:9"}


def plain_faster_whisper(wav: Path, spec: str) -> tuple[float, str]:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from fi_diarization.speech.models import resolve_model, usable_cores

    start = time.perf_counter()
    model = WhisperModel(resolve_model(spec), device="cpu", compute_type="int8", cpu_threads=usable_cores())
    segments, _ = BatchedInferencePipeline(model).transcribe(str(wav), batch_size=8)
    text = " ".join(s.text.strip() for s in segments)
    return time.perf_counter() - start, text


def cli(args: list[str], env: dict[str, str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run([CLI, *args], env={**os.environ, **env}, capture_output=True, text=True, **kw)
    return time.perf_counter() - start, proc


def transcribe(wav: Path, spec: str, env: dict[str, str], *extra: str) -> tuple[float, dict]:
    seconds, proc = cli(["transcribe", str(wav), "--model", spec, "--format", "json", *extra], env)
    if proc.returncode != 0:
        raise SystemExit(f"transcribe failed: {proc.stderr}")
    return seconds, json.loads(proc.stdout)


def step_seconds(env: dict[str, str]) -> dict[str, float]:
    """Seconds per asset in the latest run, from Dagster's step stats."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    run = instance.get_runs(limit=1)[0]
    totals: dict[str, float] = {}
    for stat in instance.get_run_step_stats(run.run_id):
        asset = stat.step_key.split(".")[0].split("[")[0]
        totals[asset] = totals.get(asset, 0.0) + (stat.end_time - stat.start_time)
    return totals


def speaker_stage_seconds(env: dict[str, str]) -> float:
    """The speaker stage's own seconds in the latest run (beside Whisper or in its step)."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    event = instance.get_latest_materialization_event(dg.AssetKey("speaker_turns"))
    return float(event.asset_materialization.metadata["stage_seconds"].value)


def speaker_scores(doc: dict, truth: dict, env: dict[str, str]) -> tuple[float, float]:
    import pandas as pd

    turns = pd.read_parquet(Path(env["FI_DIARIZATION_HOME"]) / "storage" / "speaker_turns" / f"{doc['audio_id']}.parquet")
    transcript = pd.read_parquet(Path(env["FI_DIARIZATION_HOME"]) / "storage" / "transcript" / f"{doc['audio_id']}.parquet")
    words = [
        {"start": w["start"], "end": w["end"], "speaker": speaker}
        for speaker, ws in zip(transcript["speaker"], transcript["words"])
        for w in ws
    ]
    return der(truth["segments"], turns.to_dict("records")), word_speaker_accuracy(truth["segments"], words)


def cache_figures(wav: Path, spec: str, env: dict[str, str], audio_id: str) -> dict[str, float]:
    from fi_diarization import results

    os.environ["FI_DIARIZATION_HOME"] = env["FI_DIARIZATION_HOME"]
    results.load_transcripts(audio_id)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        results.load_transcripts(audio_id)
        times.append(time.perf_counter() - start)
    result_s, _ = cli(["result", audio_id, "--format", "json"], env)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "same bytes another name.wav"
        shutil.copyfile(wav, copy)
        reupload_s, proc = cli(["transcribe", str(copy), "--model", spec, "--format", "json"], env)
    assert "answered from the materialized transcript" in proc.stderr, proc.stderr
    return {"load_ms": 1000 * statistics.median(times), "result_s": result_s, "reupload_s": reupload_s}


def resume_share(wav: Path, spec: str) -> dict[str, float]:
    """Kill a cold `transcribe` once about half its chunks are cached, then run it again.

    Both this and the full run it is compared with use one chunk per Whisper call, so that
    a finished chunk is on disk before the next one starts.
    """
    with tempfile.TemporaryDirectory() as tmp:
        full_s, _ = transcribe(wav, spec, {**project_env(Path(tmp) / "full"), "WHISPER_BATCH_SIZE": "1"}, "--num-speakers", "2")
        env = {**project_env(Path(tmp) / "killed"), "WHISPER_BATCH_SIZE": "1"}
        cache = Path(env["FI_DIARIZATION_HOME"]) / "cache" / "chunks"
        args = [CLI, "transcribe", str(wav), "--model", spec, "--num-speakers", "2", "--format", "json"]
        proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        chunks_file = None
        while proc.poll() is None:
            plans = list((Path(env["FI_DIARIZATION_HOME"]) / "storage" / "chunks").glob("*.parquet"))
            if plans and chunks_file is None:
                import pandas as pd

                chunks_file = len(pd.read_parquet(plans[0]))
            done = len(list(cache.rglob("*.parquet"))) if cache.exists() else 0
            if chunks_file and done >= chunks_file / 2:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        proc.wait()
        cached = len(list(cache.rglob("*.parquet")))
        resumed_s, _ = transcribe(wav, spec, env, "--num-speakers", "2")
        return {
            "chunks": chunks_file or 0,
            "cached_at_kill": cached,
            "full_s": full_s,
            "resume_s": resumed_s,
            "share": resumed_s / full_s,
        }


PLAIN = """
import sys
from faster_whisper import BatchedInferencePipeline, WhisperModel
from fi_diarization.speech.models import resolve_model, usable_cores
model = WhisperModel(resolve_model(sys.argv[2]), device="cpu", compute_type="int8", cpu_threads=usable_cores())
segments, _ = BatchedInferencePipeline(model).transcribe(sys.argv[1], batch_size=8, word_timestamps=True)
print(sum(1 for _ in segments))
"""


# Runs the command in a child forked from this small launcher, so that the peak RSS is the
# command's own: a child spawned straight from the benchmark starts as a copy of it (vfork), and
# its `ru_maxrss` kept the benchmark's ~530 MiB of imports and tiled audio, which hid plain
# faster-whisper's real peak (~285 MiB at 30 s) until 2026-11-27.
_LAUNCH = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one whole process."""
    with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as peak:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _LAUNCH, peak.name, *cmd], env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[:3]} failed: {proc.stderr.decode()[-500:]}")
        return seconds, int(peak.read()) / 1024


def tiled(src: Path, seconds: float, dest: Path) -> Path:
    """`src` repeated to `seconds` (16 kHz mono WAV): a long file with known content."""
    import wave

    import numpy as np
    from faster_whisper import decode_audio

    audio = decode_audio(str(src), sampling_rate=16000)
    reps = int(np.ceil(seconds * 16000 / len(audio)))
    pcm = (np.tile(audio, reps)[: int(seconds * 16000)] * 32767).astype("<i2")
    with wave.open(str(dest), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm.tobytes())
    return dest


# The steps of a 30-second file's run: audio, chunks, plan_batches, one transcribe_batch,
# merge_segments, speaker_turns, speaker_segments, speaker_roles, transcript, transcript_checks.
FLOOR_STEPS = 10


def wait_figures(short: Path, corpus: Path, spec: str, say) -> None:
    """Issue 8: whole-process wall time and peak RSS against plain faster-whisper, per length."""
    say("## The wait (issue 8; whole processes, cold data root each, same machine, one after the other)")
    say("| file | plain faster-whisper | fi-diarization transcribe | ratio | peak RSS plain / ours | speaker_turns step / stage's own | stages (s) |")
    say("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        files = [("30 s", short, 3), ("120 s corpus", corpus, 3)]
        files += [(f"{m} min", tiled(corpus, 60 * m, Path(tmp) / f"{m}min.wav"), 1) for m in (5, 20, 60)]
        for label, wav, repeats in files:
            plain, ours, stages = [], [], {}
            for i in range(repeats):  # alternated, medians
                plain.append(measured([sys.executable, "-c", PLAIN, str(wav), spec]))
                env = project_env(Path(tmp) / f"{wav.stem}-{i}")
                subprocess.run(  # a brand-new instance is made once, as `dagster dev` or the daemon would
                    [sys.executable, "-c", "from fi_diarization.status import open_instance;"
                     "from fi_diarization.settings import get_settings; open_instance(get_settings())"],
                    env={**os.environ, **env}, check=True, capture_output=True,
                )
                ours.append(measured([CLI, "transcribe", str(wav), "--model", spec, "--format", "json"], env))
                stages, stage_own = step_seconds(env), speaker_stage_seconds(env)
            p = statistics.median(s for s, _ in plain), max(m for _, m in plain)
            o = statistics.median(s for s, _ in ours), max(m for _, m in ours)
            top = ", ".join(f"{k} {v:.1f}" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])[:4])
            say(
                f"| {label} | {p[0]:.1f} s | {o[0]:.1f} s | {o[0] / p[0]:.2f}x | {p[1]:.0f} / {o[1]:.0f} MiB | "
                f"{stages.get('speaker_turns', 0):.1f} / {stage_own:.1f} s | {top} |"
            )
            if label == "30 s":
                short_row = p[0], o[0]
        floor = []
        for i in range(3):
            env = project_env(Path(tmp) / f"floor-{i}")
            subprocess.run(
                [sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get()"],
                env={**os.environ, **env}, check=True, capture_output=True,
            )
            floor.append(measured([sys.executable, str(HERE / "dagster_floor.py"), str(FLOOR_STEPS)], env)[0])
        say("")
        say(
            f"- Dagster alone (`dagster_floor.py`: {FLOOR_STEPS} no-op assets run as `transcribe` runs a 30 s file, "
            f"cold process, median of 3): {statistics.median(floor):.1f} s. Plain + that = "
            f"{short_row[0] + statistics.median(floor):.1f} s, against ours {short_row[1]:.1f} s."
        )


def main_figures(corpus: Path, spec: str, say) -> None:
    """Issues 2-4 on the corpus: wall time and WER against plain, DER, the cache."""
    truth = json.loads(corpus.with_suffix(".truth.json").read_text())
    script = " ".join(s["text"] for s in truth["segments"])
    say(f"# Benchmarks: {corpus.name}, {spec}, {os.cpu_count()} cores, CPU int8")
    say("")
    plain_s, plain_text = plain_faster_whisper(corpus, spec)
    with tempfile.TemporaryDirectory() as tmp:
        env = project_env(Path(tmp))
        given_s, given = transcribe(corpus, spec, env, "--num-speakers", "2")
        steps = step_seconds(env)
        pipeline_text = " ".join(s["text"] for s in given["segments"])
        say("## Transcription (issue 2)")
        say(f"- plain faster-whisper (BatchedInferencePipeline, batch 8): {plain_s:.1f} s, WER {100 * wer(script, plain_text):.1f} %")
        say(f"- fi-diarization transcribe (cold process, every asset): {given_s:.1f} s, WER {100 * wer(script, pipeline_text):.1f} %")
        say(f"- wall-time ratio pipeline / plain: {given_s / plain_s:.2f}x")
        say(
            f"- inside that run, the `transcription` asset (plan, fan-out, merge; model load included): "
            f"{steps['transcription']:.1f} s = {steps['transcription'] / plain_s:.2f}x plain"
        )
        say("- seconds per asset: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(steps.items(), key=lambda kv: -kv[1])))
        der_given, acc_given = speaker_scores(given, truth, env)
        estimated_s, estimated = transcribe(corpus, spec, env)
        der_est, acc_est = speaker_scores(estimated, truth, env)
        say("")
        say("## Speakers (issue 3; DER collar ±0.25 s)")
        say(f"- count given (2): DER {100 * der_given:.2f} %, words on the right speaker {100 * acc_given:.1f} %")
        say(f"- count estimated: {len(estimated['speakers'])} speakers, DER {100 * der_est:.2f} %, words on the right speaker {100 * acc_est:.1f} %")
        say(f"- re-run with other speaker options, chunks from the chunk cache: {estimated_s:.1f} s")
        figures = cache_figures(corpus, spec, env, given["audio_id"])
    resume = resume_share(corpus, spec)
    say("")
    say("## Cache (issue 4)")
    say(f"- load_transcripts() for one file: {figures['load_ms']:.1f} ms (median of 20, in-process)")
    say(f"- `result --format json`: {figures['result_s']:.2f} s wall (new process)")
    say(f"- identical re-upload under another name, `transcribe`: {figures['reupload_s']:.2f} s wall, no run, no model")
    say(
        f"- resume after SIGKILL with {resume['cached_at_kill']}/{resume['chunks']} chunks cached: "
        f"{resume['resume_s']:.1f} s = {100 * resume['share']:.0f} % of a full run ({resume['full_s']:.1f} s, batch 1 both)"
    )


def bed_figures(spec: str, say) -> None:
    """Issue 7: per file of the human-voice bed, WER against plain, DER given / estimated, the count and its confidence."""
    say(f"## Human-voice bed (issue 7; {spec} for English, {ES_MODEL} for Spanish; the table `benchmarks/bed.py` prints)")
    for row in bed_rows(bed_files(None, BED_DIR), spec, ES_MODEL):
        say(row)


def keep(path: Path, part: str, lines: list[str]) -> None:
    """`lines` as `part`'s block of `path`, between its markers: what the sessions wrote around the blocks stays.

    The whole file was written anew before, and a run would have wiped every measured note below it.
    """
    begin, end = f"<!-- run.py {part}: begin -->", f"<!-- run.py {part}: end -->"
    text = path.read_text() if path.exists() else ""
    block = "\n".join([begin, *lines, end])
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:  # a new block goes after the last one, or first
        last = text.rfind("<!-- run.py ")
        cut = text.index("-->", last) + 3 if last >= 0 else 0
        text = f"{text[:cut]}\n\n{block}\n\n{text[cut:].lstrip()}" if cut else f"{block}\n\n{text}"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "consult_2spk.wav")
    parser.add_argument("--model", default="bundled:tiny.en")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--only",
        choices=("all", "main", "bed", "wait"),
        default="all",
        help="main: the corpus (issues 2-4); bed: the human-voice bed (issue 7); wait: the issue-8 table",
    )
    args = parser.parse_args()
    short = ROOT / "fi_diarization_tests" / "fixtures" / "consult_2spk.wav"
    parts = {
        "main": lambda say: main_figures(args.corpus, args.model, say),
        "bed": lambda say: bed_figures(args.model, say),
        "wait": lambda say: wait_figures(short, args.corpus, args.model, say),
    }
    for part in parts if args.only == "all" else [args.only]:
        lines: list[str] = []
        parts[part](lambda line: (print(line, flush=True), lines.append(line)))
        keep(args.out, part, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
