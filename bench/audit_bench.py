"""Cold audit against the embedding floor: Banking77 train (10k) with production = Banking77 test (3k).

In one run: (1) plain sentence-transformers embeds the same texts (import + model load + encode),
(2) `ftaudit audit` runs cold (empty cache folder: embeddings and the ONNX export are made anew) as a
user would, in a fresh process. Reports the ratio and the audit's stages.

    python -m bench.audit_bench
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRAIN, PRODUCTION = SHARED / "banking77" / "train.csv", SHARED / "banking77" / "test.csv"

BASELINE = """
import csv, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
started = time.perf_counter()
from sentence_transformers import SentenceTransformer
from auditor.embed import default_model_dir
model = SentenceTransformer(str(default_model_dir()), device="cpu")
texts = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        texts += [r["text"] for r in csv.DictReader(handle)]
model.encode(texts, batch_size=64, normalize_embeddings=True)
print(time.perf_counter() - started, len(texts))
"""


def run(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    return time.perf_counter() - started, result


def main() -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    wall, baseline = run([sys.executable, "-c", BASELINE, str(TRAIN), str(PRODUCTION)], env)
    base_seconds, texts = baseline.stdout.split()
    print(f"plain sentence-transformers (torch): {float(base_seconds):.1f}s for {texts} texts (process {wall:.1f}s)")
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "report.json"
        cold_env = {**env, "FTAUDIT_CACHE_DIR": str(Path(folder) / "cache")}
        audit_wall, result = run(
            [
                str(Path(sys.executable).with_name("ftaudit")),
                "audit",
                str(TRAIN),
                "--production",
                str(PRODUCTION),
                "-q",
                "--format",
                "json",
                "-o",
                str(report_path),
            ],
            cold_env,
        )
        if result.returncode:
            raise SystemExit(result.stderr)
        report = json.loads(report_path.read_text())
    ratio = audit_wall / wall
    print(f"ftaudit cold audit: {audit_wall:.1f}s wall -> ratio {ratio:.2f} (goal <= 1.2)")
    embedding = report["embedding"]
    print(
        f"  load {report['timings']['load_seconds']:.1f}s · embedding {embedding['seconds']:.1f}s "
        f"({embedding['computed']} texts, backend {embedding.get('backend')}, "
        f"model load/export {embedding['model_load_seconds']:.1f}s)"
    )
    for check in report["checks"]:
        print(f"  {check['id']:<11} {check['seconds']:6.2f}s {check['status']}")
    rest = audit_wall - report["timings"]["total_seconds"]
    print(f"  process start, imports and rendering: {rest:.1f}s")
    return {"baseline": wall, "audit": audit_wall, "ratio": ratio}


if __name__ == "__main__":
    main()
