"""Gate timing: Banking77 train (10k rows) with production = Banking77 test (3k), embeddings cached.

Times `ftaudit gate` as a user runs it (a fresh process): on an unchanged file (answered from the
gate's result cache), on a changed file whose rows are all embedded already (one row removed), and
on a file with one new row (its text embedded, so the model loads). Then breaks a full re-audit
down by stage from a JSON report made with the gate's settings.

    python -m bench.gate_bench [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRAIN, PRODUCTION = SHARED / "banking77" / "train.csv", SHARED / "banking77" / "test.csv"


ROOT = Path(__file__).resolve().parents[1]
CODE: dict[str, str] = {}


def snapshot(folder: Path) -> None:
    """Run a frozen copy of the code: the gate's key covers the code, which others may be editing meanwhile."""
    for package in ("auditor", "checks"):
        shutil.copytree(ROOT / package, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    CODE["PYTHONPATH"] = str(folder)
    CODE["cwd"] = str(folder)


def ftaudit(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CODE["PYTHONPATH"]},
        cwd=CODE["cwd"],
    )
    return time.perf_counter() - started, result


def timed_gate(path: Path, repeat: int) -> tuple[list[float], str]:
    times, out = [], ""
    for _ in range(repeat):
        seconds, result = ftaudit("gate", str(path), "--production", str(PRODUCTION), "-q")
        times.append(seconds)
        out = result.stdout.strip().splitlines()[0]
    return times, out


def shown(times: list[float]) -> str:
    return f"best {min(times):.2f}s, median {sorted(times)[len(times) // 2]:.2f}s over {len(times)} run(s)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args, _ = parser.parse_known_args()
    load = lambda: " ".join(f"{x:.1f}" for x in os.getloadavg())  # noqa: E731
    with tempfile.TemporaryDirectory() as folder:
        snapshot(Path(folder) / "code")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"])
        print(f"python start alone: {time.perf_counter() - started:.2f}s")
        report = Path(folder) / "report.json"
        lines = TRAIN.read_text(encoding="utf-8").splitlines(keepends=True)
        train = Path(folder) / "train.csv"
        train.write_text("".join(lines), encoding="utf-8")
        warm, _ = ftaudit(
            "audit", str(train), "--production", str(PRODUCTION), "-q", "--format", "json", "-o", str(report)
        )
        print(f"warming audit: {warm:.1f}s (load {load()})")
        first, out = timed_gate(train, 1)
        print(f"first gate on the file (no result cached yet): {first[0]:.2f}s")
        print(out)
        unchanged, _ = timed_gate(train, args.repeat)
        print(f"unchanged file (result cache): {shown(unchanged)} (load {load()})")
        removed = []
        for i in range(args.repeat):
            train.write_text("".join(lines[: 2 + i] + lines[3 + i :]), encoding="utf-8")
            removed += timed_gate(train, 1)[0]
        print(f"changed file, one row removed (every row embedded already): {shown(removed)} (load {load()})")
        added = []
        for _ in range(args.repeat):
            new_row = f"how do I close account {secrets.token_hex(3)} today?,terminate_account\n"
            train.write_text("".join(lines) + new_row, encoding="utf-8")
            added += timed_gate(train, 1)[0]
        print(f"changed file, one new row (its text embedded: the model loads): {shown(added)} (load {load()})")
        train.write_text("".join(lines), encoding="utf-8")
        config = Path(folder) / "ftaudit.toml"
        config.write_text("[format]\nuse_great_expectations = false\n[labels]\nlearning_curve_fractions = []\n")
        _, timed = ftaudit(
            "audit",
            str(train),
            "--production",
            str(PRODUCTION),
            "-q",
            "--format",
            "json",
            "-o",
            str(report),
            "--config",
            str(config),
        )
        data = json.loads(report.read_text())
        total = data["timings"]["total_seconds"]
        print(f"a re-audit with the gate's settings, by stage (total {total:.2f}s in-process):")
        for check in data["checks"]:
            print(f"  {check['id']:<11} {check['seconds']:6.2f}s  {check['status']}")
        print(
            f"  embedding lookups {data['embedding'].get('seconds', 0):.2f}s "
            f"({data['embedding'].get('cached', 0)} cached, {data['embedding'].get('computed', 0)} computed)"
        )


if __name__ == "__main__":
    main()
