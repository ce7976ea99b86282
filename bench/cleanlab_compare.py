"""ftaudit against cleanlab's Datalab on the same cached embeddings: Banking77 train (10k rows).

cleanlab lives in its own virtual environment (not a dependency of ftaudit):

    python3 -m venv /tmp/cleanlab-venv && /tmp/cleanlab-venv/bin/pip install "cleanlab[datalab]"
    python -m bench.cleanlab_compare [--venv /tmp/cleanlab-venv] [--rows 10000]

The vectors come from ftaudit's embedding cache and are handed to Datalab as `features`; Datalab's
`find_issues` runs its near_duplicate, label and outlier checks. Both sides are timed as whole
processes (start, imports, work), in one run on the same machine, ftaudit as a warm training-set
audit (every check; embeddings cached).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRAIN = SHARED / "banking77" / "train.csv"

DATALAB = """
import sys, time
started = time.perf_counter()
import numpy as np
from cleanlab import Datalab
data = np.load(sys.argv[1], allow_pickle=False)
lab = Datalab(data={"label": data["labels"].tolist()}, label_name="label", verbosity=0)
lab.find_issues(features=data["vectors"], issue_types={"near_duplicate": {}, "label": {}, "outlier": {}})
summary = lab.get_issue_summary()
found = "|".join(f"{r.issue_type}={int(r.num_issues)}" for r in summary.itertuples())
print(found, f"{time.perf_counter() - started:.1f}")
"""


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--venv", default="/tmp/cleanlab-venv")
    parser.add_argument("--rows", type=int, default=10_000)
    args, _ = parser.parse_known_args()
    python = Path(args.venv) / "bin" / "python"
    if not python.exists():
        print(f"skipped: no cleanlab virtual environment at {args.venv} (see this script's docstring)")
        return
    import numpy as np

    from auditor.embed import Embedder

    with open(TRAIN, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[: args.rows]
    load = lambda: " ".join(f"{x:.1f}" for x in os.getloadavg())  # noqa: E731
    with tempfile.TemporaryDirectory() as folder:
        train = Path(folder) / "train.csv"
        with open(train, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["text", "category"])
            writer.writeheader()
            writer.writerows(rows)
        embedder = Embedder(quiet=True)
        vectors = embedder.encode([r["text"] for r in rows])
        np.savez(Path(folder) / "data.npz", vectors=vectors, labels=np.array([r["category"] for r in rows]))
        report = Path(folder) / "report.json"
        audit = [
            str(Path(sys.executable).with_name("ftaudit")),
            "audit",
            str(train),
            "-q",
            "--format",
            "json",
            "-o",
            str(report),
        ]
        timed(audit)  # warms every cache the audit uses
        print(
            f"{len(rows)} rows, {embedder.stats.computed} embedded now, {embedder.stats.cached} from the cache; "
            f"load {load()}"
        )
        for attempt in range(2):
            ours, result = timed(audit)
            if result.returncode:
                raise SystemExit(result.stderr[-2000:])
            data = json.loads(report.read_text())
            theirs, peer = timed([str(python), "-c", DATALAB, str(Path(folder) / "data.npz")])
            if peer.returncode:
                raise SystemExit(peer.stderr[-2000:])
            found, _ = peer.stdout.split()
            checks = " ".join(f"{c['id']}={c['seconds']:.1f}" for c in data["checks"])
            print(
                f"run {attempt + 1}: ftaudit warm audit {ours:.1f}s ({checks}) | cleanlab Datalab find_issues "
                f"{theirs:.1f}s ({found.replace('|', ' ')}) | ratio {ours / theirs:.2f} (load {load()})"
            )


if __name__ == "__main__":
    main()
