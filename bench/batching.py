#!/usr/bin/env python
"""Does batching pay, stage by stage? The Paraformer encoder, and its predictor + decoder, on
padded batches of segments of one length against the same segments one at a time.

Full-size random-weight models (bench/asr.py builds them), random features of the right shape;
for each segment length a batch fills ~120 s (ASR_BATCH_SECONDS), lengths 7 frames apart as
sorted VAD segments are. After one untimed call of each, alone and batched alternate, `--rounds`
times; each keeps its best.
What it checks: the CPU rule that a batch holding a segment of 30 s or more is encoded one
segment at a time (paraformer.encode_long_alone), with the predictor and decoder still batched.

usage: bench/batching.py [--seconds 8,16,25,60] [--rounds 3] [--device auto|cpu|cuda:0] [--record]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.asr import build_models, machine  # noqa: E402
from bench.results import publish  # noqa: E402
from transcription.asr.engine import Engine, EngineConfig  # noqa: E402


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(model: Any, device: str, seconds: float, rounds: int, generator: Any) -> dict[str, Any]:
    """Per segment, the best wall and CPU seconds of each side for segments of `seconds`."""
    import torch

    encode = getattr(model, "encode_batch", model.encode)  # the batched encoder, also on the CPU
    frames = int(seconds * 1000 / 60)  # encoder frames: LFR 6 x 10 ms
    count = max(2, int(120 // seconds))
    lengths = [frames - 7 * i for i in range(count)]
    features = [torch.randn(1, n, 560, generator=generator).to(device) for n in lengths]
    padded = torch.zeros(count, frames, 560, device=device)
    for i, f in enumerate(features):
        padded[i, : f.size(1)] = f[0]
    lens = torch.tensor(lengths, device=device)
    encoded = [encode(f, lens[i : i + 1])[0] for i, f in enumerate(features)]
    encoded_batch = encode(padded, lens)[0]

    def decode(out: Any, out_lens: Any) -> None:
        predicted = model.calc_predictor(out, out_lens)
        model.cal_decoder_with_predictor(out, out_lens, predicted[0], predicted[1].round().long())

    sides = {
        "encoder alone": lambda: [encode(f, lens[i : i + 1]) for i, f in enumerate(features)],
        "encoder batched": lambda: encode(padded, lens),
        "decoder alone": lambda: [decode(e, lens[i : i + 1]) for i, e in enumerate(encoded)],
        "decoder batched": lambda: decode(encoded_batch, lens),
    }
    for side in sides.values():  # first calls on new shapes pay for allocation and kernel choice
        side()
    best = {name: (float("inf"), float("inf")) for name in sides}
    for n in range(rounds):
        for name in (list(sides) if n % 2 == 0 else list(sides)[::-1]):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            wall, cpu = timed(sides[name])
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    row = {"seconds": seconds, "count": count, **{k: (w / count, c / count) for k, (w, c) in best.items()}}
    print(f"{seconds:g} s x {count}: " + ", ".join(f"{k} {w / count:.3f} s" for k, (w, _c) in best.items()),
          flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", default="8,16,25,60")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()
    import torch

    load_before = os.getloadavg()
    dirs = build_models("large")
    engine = Engine(EngineConfig(model=str(dirs["asr"]), vad_model=str(dirs["vad"]), punc_model=str(dirs["punc"]),
                                 device=args.device, ncpu=os.cpu_count() or 1))
    model, device = engine._am.model, engine.device
    generator = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        rows = [measure(model, device, float(s), args.rounds, generator) for s in args.seconds.split(",")]
    load = f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    lines = [f"### {time.strftime('%Y-%m-%d')}: batching by stage, large models, device {args.device}, "
             f"{args.rounds} round(s)", "", f"Machine: {machine(device)}; {load}", "",
             "Per segment, best round, wall / CPU seconds; batched / alone below 1.00 means batching pays.", "",
             "| segments | encoder alone | encoder batched | batched / alone | decoder alone | decoder batched "
             "| batched / alone |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"{r['seconds']:g} s x {r['count']}"]
        for stage in ("encoder", "decoder"):
            (aw, ac), (bw, bc) = r[f"{stage} alone"], r[f"{stage} batched"]
            cells += [f"{aw:.3f} / {ac:.3f}", f"{bw:.3f} / {bc:.3f}", f"{bw / aw:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    report = "\n".join(lines)
    publish(report, record=args.record)


if __name__ == "__main__":
    main()
