"""Where a benchmark's report goes: standard output, and with --record the end of bench/RESULTS.md."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def publish(report: str, *, record: bool) -> None:
    print(report)
    if record:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write("\n" + report.rstrip("\n") + "\n")
