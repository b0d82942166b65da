#!/usr/bin/env python
"""Queue benchmark: the real worker path, one job at a time against batched and pipelined.

In one process, on a scratch SQLite database: `--clips` espeak-ng clips of 10-45 s (Mandarin and
English alternating) are uploaded as jobs and drained by `worker_drain`: claim, fetch, decode, VAD,
ASR, punctuation and the transcript write, all real, on the full-size random-weight models
(bench/asr.py builds them). Two sides, the same clips:

  one-by-one   ASR_BATCH_JOBS=1 without prefetch (the worker before the scheduler work)
  batched      ASR_BATCH_JOBS / ASR_BATCH_AUDIO_SECONDS batches, the next one prepared while the
               current one is in the model
  serial       (only with --sides) the same batches without prefetch: batching's share alone

The sides alternate (one-by-one first in odd rounds, batched first in even ones); each keeps its
best round. Reports audio hours per wall hour, jobs per hour, process CPU seconds (all threads) and
how many jobs got identical text and segments on every side.

usage: bench/queue_bench.py [--clips 60] [--rounds 2] [--device auto|cpu|cuda:0] [--models large|tiny]
                      [--batch-jobs 16] [--batch-audio-seconds 900] [--sides one-by-one,batched]
                      [--record]
       quick check: bench/queue_bench.py --clips 8 --rounds 1 --models tiny
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.asr import build_models, machine  # noqa: E402
from bench.audio import speech  # noqa: E402
from bench.results import publish  # noqa: E402
from transcription.asr.audio import SAMPLE_RATE  # noqa: E402


def clips(n: int, tmp: Path) -> list[tuple[Path, float]]:
    """n wav files of 10-45 s of speech, the same ones every run."""
    from tests.asr_fixtures import write_wav

    rng = random.Random(42)
    out = []
    for i in range(n):
        samples = speech(round(rng.uniform(10, 45), 1), 500 + i)
        out.append((write_wav(tmp / f"clip-{i}.wav", samples), len(samples) / SAMPLE_RATE))
    return out


def setup_django(data_dir: Path, dirs: dict[str, Path], args: argparse.Namespace) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "true", "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING", "ASR_WORKER_LOOP": "false", "ASR_DEVICE": args.device,
        "ASR_NCPU": str(args.ncpu), "ASR_MODEL": str(dirs["asr"]), "ASR_VAD_MODEL": str(dirs["vad"]),
        "ASR_PUNC_MODEL": str(dirs["punc"]), "ASR_SPK_MODEL": "", "JOB_HEARTBEAT_SECONDS": "5",
    })
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def itn_missing() -> bool:
    """Without WeTextProcessing (the GPU machine: its pynini does not travel), the transcript write
    keeps each segment's text as its digits version instead: the report says so."""
    if importlib.util.find_spec("itn") is not None:
        return False
    from transcription.services import job_lifecycle

    job_lifecycle.segment_digits = lambda text: text
    return True


def run_side(name: str, files: list[tuple[Path, float]], project: Any, user: Any, *, batch_jobs: int,
             batch_seconds: float, prefetch: bool) -> dict[str, Any]:
    from transcription.models import Transcript
    from transcription.services.job_options import upload_options
    from transcription.services.uploads import Intake, media_ingest
    from transcription.services.worker import worker_drain

    intake = Intake(project=project, user=user, options=upload_options(project=project))
    jobs = [media_ingest(intake=intake, name=path.name, path=str(path)) for path, _seconds in files]
    wall, cpu = time.perf_counter(), time.process_time()
    claimed = worker_drain(worker=f"bench-{name}", batch_jobs=batch_jobs, batch_seconds=batch_seconds,
                           prefetch=prefetch)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert claimed == len(jobs), (claimed, len(jobs))
    results = []
    for job in jobs:
        transcript = Transcript.objects.get(job=job)
        results.append([transcript.text, list(transcript.segments.values_list("start", "end", "text"))])
    return {"wall": wall, "cpu": cpu, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ncpu", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--models", choices=["large", "tiny"], default="large")
    parser.add_argument("--batch-jobs", type=int, default=16)
    parser.add_argument("--batch-audio-seconds", type=int, default=900)
    parser.add_argument("--sides", default="one-by-one,batched",
                        help="comma-separated, from one-by-one, batched, serial (one-by-one and batched are needed)")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()

    load_before = os.getloadavg()
    started = time.perf_counter()
    dirs = build_models(args.models)
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        files = clips(args.clips, Path(tmp))
        setup_django(Path(tmp) / "data", dirs, args)
        no_itn = itn_missing()
        from django.contrib.auth.models import User

        from portal.models import Membership, Project, Role, Team
        from transcription.asr.engine import get_engine

        user = User.objects.create_user("bench")
        team = Team.objects.create(name="Bench")
        Membership.objects.create(team=team, user=user, role=Role.OWNER)
        project = Project.objects.create(team=team, name="Bench", created_by=user)
        engine = get_engine()
        engine.transcribe(np.zeros(5 * SAMPLE_RATE, dtype=np.float32))  # the first call pays one-off costs
        print(f"models {args.models} on {engine.device}; {len(files)} clips, "
              f"{sum(s for _p, s in files):.0f} s of audio; setup {time.perf_counter() - started:.0f} s", flush=True)

        sides = {"one-by-one": {"batch_jobs": 1, "batch_seconds": args.batch_audio_seconds, "prefetch": False},
                 "batched": {"batch_jobs": args.batch_jobs, "batch_seconds": args.batch_audio_seconds,
                             "prefetch": True},
                 "serial": {"batch_jobs": args.batch_jobs, "batch_seconds": args.batch_audio_seconds,
                            "prefetch": False}}
        chosen = args.sides.split(",")
        if not {"one-by-one", "batched"} <= set(chosen) <= set(sides):
            parser.error(f"--sides takes one-by-one, batched and optionally serial, not {args.sides!r}")
        sides = {name: sides[name] for name in chosen}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
        for n in range(args.rounds):
            for name in (list(sides) if n % 2 == 0 else list(sides)[::-1]):
                run = run_side(name, files, project, user, **sides[name])
                runs[name].append(run)
                print(json.dumps({"round": n + 1, "side": name, "wall_s": round(run["wall"], 1),
                                  "cpu_s": round(run["cpu"], 1)}), flush=True)
    audio = sum(s for _p, s in files)
    best = {name: min(r, key=lambda run: run["wall"]) for name, r in runs.items()}
    same = sum(all(r == per_side[0] for r in per_side)
               for per_side in zip(*(run["results"] for run in best.values()), strict=True))
    load = f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    report = markdown(args, best, runs, audio, len(files), same, f"{machine(engine.device)}; {load}")
    if no_itn:
        report += "\n\nWithout ITN: WeTextProcessing is not installed here, so no segment got its digits version.\n"
    publish(report, record=args.record)


def markdown(args: argparse.Namespace, best: dict[str, dict[str, Any]], runs: dict[str, list[dict[str, Any]]],
             audio: float, jobs: int, same: int, where: str) -> str:
    lines = [f"### {time.strftime('%Y-%m-%d')}: queue benchmark, {args.models} models, device {args.device}, "
             f"{jobs} clips ({audio:.0f} s of audio), batches of {args.batch_jobs} / {args.batch_audio_seconds} s, "
             f"{args.rounds} round(s)", "", f"Machine: {where}", "",
             "| worker | wall (best round) | CPU | audio h per wall h | jobs per hour |", "|---|---|---|---|---|"]
    for name, run in best.items():
        lines.append(f"| {name} | {run['wall']:.1f} s | {run['cpu']:.1f} s | {audio / run['wall']:.1f} | "
                     f"{jobs / run['wall'] * 3600:.0f} |")
    one, batched = best["one-by-one"], best["batched"]
    lines += ["", f"Batched / one-by-one: **{one['wall'] / batched['wall']:.2f}x** jobs per hour (wall), "
              f"{one['cpu'] / batched['cpu']:.2f}x CPU"
              + (f"; without prefetch {one['wall'] / best['serial']['wall']:.2f}x / "
                 f"{one['cpu'] / best['serial']['cpu']:.2f}x" if "serial" in best else "")
              + f". Identical text and segments on every side: {same}/{jobs} jobs.", "",
              "All rounds (wall / CPU s): " + "; ".join(
                  f"{name} " + ", ".join(f"{r['wall']:.1f}/{r['cpu']:.1f}" for r in rs) for name, rs in runs.items())]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
