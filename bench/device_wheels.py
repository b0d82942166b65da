#!/usr/bin/env python
"""Wheels for the lent GPU machine (bench/device.sh), into .whl/ at the repository's root.

That machine's image has Python 3.12 with torch (and numpy, scipy, transformers, pytest, ...) but not
the portal's own packages, and nothing can be fetched there. This downloads, for CPython 3.12 on
x86-64 Linux and without dependencies, the packages listed in bench/device-packages.txt at the
versions installed in this project's virtual environment (so requirements*.txt stay the one place
that pins them); a package published only as source is built into a wheel here. What it leaves out
on purpose: WeTextProcessing and pynini (~165 MB, over the 64 MiB a call may carry: bench/queue_bench.py
then writes segments without their digits version and says so) and the S3 and PostgreSQL clients.

usage: bench/device_wheels.py   (then: git status shows nothing new; .whl/ is ignored)
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".whl"
NAMES = ROOT / "bench" / "device-packages.txt"
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64"]


def pins() -> list[str]:
    names = [line.split("#")[0].strip() for line in NAMES.read_text().splitlines()]
    out = []
    for name in filter(None, names):
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            sys.exit(f"{name} is not installed in this environment: run `make test` once (it builds .venv)")
    return out


def fetch(pin: str) -> None:
    pip = [sys.executable, "-m", "pip", "-q"]
    binary = [*pip, "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
              "--implementation", "cp", *(f"--platform={p}" for p in PLATFORMS), "-d", str(OUT), pin]
    if subprocess.run(binary, capture_output=True).returncode == 0:
        return
    # no wheel for that platform: a pure-Python source package, built into a py3 wheel here
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(OUT), pin], check=True)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.whl"):
        old.unlink()
    for pin in pins():
        fetch(pin)
    wheels = sorted(OUT.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    print(f"{len(wheels)} wheels, {size / 2**20:.1f} MiB in {OUT}")


if __name__ == "__main__":
    main()
