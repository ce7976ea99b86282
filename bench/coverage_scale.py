"""Coverage at production scale: training 10k rows, production files of 10k / 100k / 1M lines.

Production is sampled before it is embedded (`coverage.sample` rows, seeded), so the work after
reading grows with the sample, not the file. Each size is timed by stage: reading and parsing the
file, hashing every input (what the duplicates check's DUP005 compares with training), embedding the
sample, and the coverage check. Production lines cycle through real CLINC150 queries not in
training (test, validation and out-of-scope rows), so the sample's texts are real and repeat as a
real log's do. Run it twice to see warm embeddings (the cache is keyed by text).

    python -m bench.coverage_scale [--sizes 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.coverage_bench import clinc, context, write_jsonl


def production_file(path: Path, pool: list[str], lines: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for start in range(0, lines, len(pool)):
            handle.write("".join(text + "\n" for text in pool[: min(len(pool), lines - start)]))
    return path


def measure(train: Path, production: Path, lines: int) -> dict[str, Any]:
    from auditor.registry import REGISTRY
    from auditor.runner import run_check

    started = time.perf_counter()
    ctx = context(train, production)
    ctx.embeddings("train")
    loaded = time.perf_counter()
    ctx.input_keys("production")
    hashed = time.perf_counter()
    section = ctx.config.section("coverage")
    ctx.sample_embeddings("production", section["sample"], section["seed"])
    embedded = time.perf_counter()
    result = run_check(REGISTRY["coverage"], ctx)
    done = time.perf_counter()
    stats = ctx.get_embedder().stats
    return {
        "production_lines": lines,
        "sampled_rows": result.metrics["sampled_rows"],
        "read_and_train_embeddings_s": round(loaded - started, 2),
        "hash_all_inputs_s": round(hashed - loaded, 2),
        "embed_sample_s": round(embedded - hashed, 2),
        "coverage_check_s": round(done - embedded, 2),
        "total_s": round(done - started, 2),
        "texts_embedded_now": stats.computed,
        "coverage": result.metrics["coverage"],
        "ci": [result.metrics["coverage_ci_low"], result.metrics["coverage_ci_high"]],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    import sklearn.linear_model  # noqa: F401  (import time is not the check's work)

    data = clinc()
    train_rows = [{"text": t, "label": i} for t, i in data["train"][:10_000]]
    pool = [t for t, _ in data["train"][10_000:] + data["val"] + data["test"] + data["oos_val"] + data["oos_test"]]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        train = write_jsonl(folder / "train.jsonl", train_rows)
        for lines in args.sizes:
            production = production_file(folder / f"production-{lines}.txt", pool, lines)
            print(json.dumps(measure(train, production, lines)), flush=True)


if __name__ == "__main__":
    main()
