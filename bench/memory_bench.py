"""Peak memory of a full audit of a 200,000-row training set (goal ≤ 1.5 GB).

Builds 200k rows from the real datasets (Banking77, CLINC150, GSM8K) plus injected variants,
then runs `ftaudit audit` in a fresh process and reads its peak resident memory. Embeddings go
to the normal cache (.ftaudit-cache), so the first run also pays for embedding 200k texts.

    python -m bench.memory_bench [--rows 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.duplicates_scale import build


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args, _ = parser.parse_known_args()
    rows = build(args.rows, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        report = Path(folder) / "report.json"
        started = time.perf_counter()
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("ftaudit")),
                "audit",
                str(path),
                "-q",
                "--format",
                "json",
                "-o",
                str(report),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        wall = time.perf_counter() - started
        if result.returncode:
            raise SystemExit(result.stderr[-2000:])
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        data = json.loads(report.read_text())
    print(
        f"rows={len(rows)} wall={wall:.0f}s peak_rss={peak_mb:.0f}MB (goal <= 1536MB) "
        f"embedded={data['embedding'].get('computed')} cached={data['embedding'].get('cached')}"
    )
    for check in data["checks"]:
        print(f"  {check['id']:<11} {check['seconds']:7.1f}s {check['status']}")
    return {"rows": len(rows), "peak_mb": peak_mb, "wall": wall}


if __name__ == "__main__":
    main()
