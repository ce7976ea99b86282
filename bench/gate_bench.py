"""Warm-cache gate timing: Banking77 train (10k rows) with production = Banking77 test (3k).

Runs one audit to warm the embedding cache, then times `ftaudit gate` as a user would run it
(a fresh process) and breaks the time down by stage from a JSON report of the same run.

    python -m bench.gate_bench [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRAIN, PRODUCTION = SHARED / "banking77" / "train.csv", SHARED / "banking77" / "test.csv"


def ftaudit(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).with_name("ftaudit")), *args], capture_output=True, text=True)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        warm, _ = ftaudit("audit", str(TRAIN), "--production", str(PRODUCTION), "-q", "--format", "json", "-o", str(report))
        print(f"warming audit: {warm:.1f}s")
        times = []
        for _ in range(args.repeat):
            seconds, result = ftaudit("gate", str(TRAIN), "--production", str(PRODUCTION), "-q")
            times.append(seconds)
        print(result.stdout.strip().splitlines()[0])
        print(f"gate wall: best {min(times):.2f}s, median {sorted(times)[len(times) // 2]:.2f}s over {len(times)} runs")
        _, timed = ftaudit("audit", str(TRAIN), "--production", str(PRODUCTION), "-q", "--format", "json", "-o",
                           str(report), "--config", str(write_gate_like_config(Path(folder))))
        data = json.loads(report.read_text())
        for check in data["checks"]:
            print(f"  {check['id']:<11} {check['seconds']:6.2f}s  {check['status']}")
        print(f"  embedding lookups {data['embedding'].get('seconds', 0):.2f}s "
              f"({data['embedding'].get('cached', 0)} cached, {data['embedding'].get('computed', 0)} computed)")


def write_gate_like_config(folder: Path) -> Path:
    path = folder / "ftaudit.toml"
    path.write_text("[format]\nuse_great_expectations = false\n")
    return path


if __name__ == "__main__":
    main()
