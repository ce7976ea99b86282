"""Duplicates at scale: 50,000 real rows (Banking77, CLINC150, GSM8K, plus injected variants).

Embeds once (cached in .ftaudit-cache), then times the duplicates check's own work — the neighbour
graph, MinHash candidates, confirmation and grouping — and reports peak memory (max RSS).

    python -m bench.duplicates_scale [--rows 50000]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import tempfile
import time
from pathlib import Path

from auditor.api import load_inputs, load_options
from auditor.config import load_config
from auditor.context import AuditContext
from auditor.embed import Embedder
from bench.inject import EXACT, NEAR

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_rows() -> list[dict]:
    rows = []
    for name in ("train.csv", "test.csv"):
        with open(SHARED / "banking77" / name, encoding="utf-8") as handle:
            rows += [{"text": r["text"], "label": r["category"]} for r in csv.DictReader(handle)]
    clinc = json.loads((SHARED / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    for split in ("train", "val", "test", "oos_train", "oos_val", "oos_test"):
        rows += [{"text": text, "label": intent} for text, intent in clinc[split]]
    for name in ("train.jsonl", "test.jsonl"):
        rows += [
            {"text": json.loads(line)["question"], "label": "math"}
            for line in open(SHARED / "gsm8k" / name, encoding="utf-8")
        ]
    return rows


def build(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = real_rows()
    kinds = {**EXACT, **NEAR}
    while len(rows) < n:
        source = rng.choice(rows)
        kind = rng.choice(list(kinds))
        rows.append({"text": kinds[kind](source["text"], rng), "label": source["label"]})
    return rows[:n]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    rows = build(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        config = load_config(overrides={"embedding": {"cache_dir": str(Path(".ftaudit-cache").resolve())}})
        started = time.perf_counter()
        datasets = load_inputs(path, None, None, load_options(config))
        loaded = time.perf_counter()
        embedder = Embedder(cache_dir=Path(".ftaudit-cache"), quiet=False)
        ctx = AuditContext(datasets, config, embedder)
        ctx.embeddings("train")
        embedded = time.perf_counter()
        print(
            f"rows={len(rows)} load={loaded - started:.1f}s embed={embedded - loaded:.1f}s "
            f"(computed {embedder.stats.computed}, cached {embedder.stats.cached}) rss={rss_mb():.0f}MB"
        )
        from auditor.registry import REGISTRY
        from auditor.runner import run_check

        t0 = time.perf_counter()
        ctx.neighbour_graph("train")
        t1 = time.perf_counter()
        ctx.near_groups("train")
        t2 = time.perf_counter()
        result = run_check(REGISTRY["duplicates"], ctx)
        t3 = time.perf_counter()
        print(
            f"neighbour_graph={t1 - t0:.1f}s near_groups={t2 - t1:.1f}s findings={t3 - t2:.1f}s "
            f"duplicates_total={t3 - t0:.1f}s peak_rss={rss_mb():.0f}MB"
        )
        print(f"summary: {result.summary}")


if __name__ == "__main__":
    main()
