"""Accuracy through the whole portal against the model alone (issue 28): runs
tests/test_accuracy.py (the real clips uploaded through the API with the Whisper-base preset, a real
qcluster, json export, WER/CER) and reports its figures; `--record` appends them to bench/RESULTS.md.

    .venv/bin/python bench/accuracy.py --record
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.asr import machine  # noqa: E402
from bench.results import publish  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp:
        out = Path(tmp) / "accuracy.json"
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_accuracy.py", "-q", "-s", "-p",
                               "no:cacheprovider"], cwd=ROOT, env={**os.environ, "BENCH_ACCURACY_OUT": str(out)})
        if not out.is_file():
            sys.exit(f"the accuracy test did not finish (exit {done.returncode})")
        data = json.loads(out.read_text())
    load = f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    s = data["summary"]
    failed = "" if done.returncode == 0 else f" (the test failed: exit {done.returncode})"
    lines = [f"### {time.strftime('%Y-%m-%d')}: accuracy through the portal, Whisper-base preset (lang=auto)", "",
             f"Machine: {machine('cpu')}; {load}; the portal's {len(data['clips'])} jobs took "
             f"{data['portal_seconds']:.0f} s wall on one worker{failed}",
             "", "| clip | language | portal (upload, VAD, batches, json export) | model alone (whole clip) |",
             "|---|---|---|---|"]
    for row in data["clips"]:
        unit = "CER" if row["language"] == "zh" else "WER"
        lines.append(f"| {row['clip']} | {row['language']} | {row['portal']} ({unit} {row['portal_rate']:.1f} %) "
                     f"| {row['model']} ({unit} {row['model_rate']:.1f} %) |")
    lines += ["", f"Total: WER (en, {s['en']['units']} words) portal {s['en']['portal']:.1f} %, model alone "
              f"{s['en']['model']:.1f} %; CER (zh, {s['zh']['units']} characters, after OpenCC t2s) portal "
              f"{s['zh']['portal']:.1f} %, model alone {s['zh']['model']:.1f} %."]
    publish("\n".join(lines) + "\n", record=args.record)
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
