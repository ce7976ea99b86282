"""Scale: training sets of 5k to 200k distinct real rows (bench/scale_rows.py) with 3k production inputs.

Each size is audited in a fresh process (`ftaudit audit --production`), embeddings taken from the
cache (warm them once with `python -m bench.scale_rows --warm`; a size whose texts are not all
cached is embedded cold and says so). Prints wall time, peak RSS and each stage's seconds per size,
the growth exponent of every stage (least-squares slope of log seconds on log rows, over all sizes
and over the sizes at or past the ANN threshold), and recall@10 of the HNSW graph against exact
search on the largest size's real embeddings.

    python -m bench.scale_bench [--sizes 5000 20000 50000 100000 200000] [--recall-rows 100000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.scale_rows import all_rows, write_production, write_train

RUNNER = """
import resource, sys
from auditor.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", file=sys.stderr)
sys.exit(code)
"""
STAGES = ("load", "embedding", "format", "duplicates", "size", "labels", "coverage", "tokens", "sensitive")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def audit_size(n: int, folder: Path, production: Path, env: dict[str, str]) -> dict:
    train = write_train(folder / f"train-{n}.jsonl", n)
    report = folder / f"report-{n}.json"
    before = load()
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            RUNNER,
            "audit",
            str(train),
            "--production",
            str(production),
            "-q",
            "--format",
            "json",
            "-o",
            str(report),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"audit of {n} rows failed: {result.stderr[-2000:]}")
    peak = float(result.stderr.rsplit("peak_rss_mb=", 1)[1].split()[0])
    data = json.loads(report.read_text())
    stages = {"load": data["timings"]["load_seconds"], "embedding": data["embedding"].get("seconds", 0.0)}
    stages.update({c["id"]: c["seconds"] for c in data["checks"]})
    train.unlink()
    return {
        "rows": n,
        "wall": wall,
        "peak_mb": peak,
        "stages": stages,
        "load_before": before,
        "load_after": load(),
        "computed": data["embedding"].get("computed", 0),
        "cached": data["embedding"].get("cached", 0),
        "statuses": {c["id"]: c["status"] for c in data["checks"]},
    }


def slope(points: list[tuple[int, float]]) -> float | None:
    points = [(n, s) for n, s in points if s > 0.05]
    if len(points) < 2:
        return None
    xs, ys = [math.log(n) for n, _ in points], [math.log(s) for _, s in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def recall_at_10(n: int, cache_dir: str, queries: int = 2000) -> str:
    import numpy as np

    from auditor.embed import Embedder
    from auditor.neighbors import nearest, neighbour_graph

    rows, _ = all_rows()
    vectors = Embedder(cache_dir=Path(cache_dir), quiet=True).encode([text for text, _ in rows[:n]])
    started = time.perf_counter()
    graph = neighbour_graph(vectors, 10, 0.8, ann_from=2)
    built = time.perf_counter() - started
    chosen = np.random.default_rng(0).choice(n, queries, replace=False)
    exact, _ = nearest(vectors[chosen], vectors, 11)
    hits = [len(set(exact[i, 1:].tolist()) & set(graph.index[q].tolist())) / 10 for i, q in enumerate(chosen)]
    return (
        f"recall@10 of the HNSW graph vs exact on {n:,} real embeddings ({queries} random rows): "
        f"{sum(hits) / len(hits):.4f}; graph built and searched in {built:.0f}s (load {load()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000, 50_000, 100_000, 200_000])
    parser.add_argument("--recall-rows", type=int, default=100_000)
    parser.add_argument("--ann-from", type=int, default=50_000)
    args, _ = parser.parse_known_args()
    cache_dir = os.environ.get("FTAUDIT_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".ftaudit-cache"))
    env = {**os.environ, "FTAUDIT_CACHE_DIR": cache_dir, "HF_HUB_OFFLINE": "1"}
    print(f"{os.cpu_count()} cores; load average at start {load()}; cache {cache_dir}")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        production = write_production(Path(folder) / "production.txt")
        for n in args.sizes:
            r = audit_size(n, Path(folder), production, env)
            results.append(r)
            stages = " ".join(f"{k}={v:.1f}" for k, v in r["stages"].items())
            print(
                f"rows={n:>7,} wall={r['wall']:6.1f}s peak_rss={r['peak_mb']:5.0f}MB embedded={r['computed']} "
                f"cached={r['cached']} load {r['load_before']} -> {r['load_after']}\n    {stages}",
                flush=True,
            )
    print("growth exponent (slope of log seconds on log rows): all sizes | sizes >= ANN threshold")
    for stage in ("wall", *STAGES):
        points = [(r["rows"], r["wall"] if stage == "wall" else r["stages"].get(stage, 0.0)) for r in results]
        every = slope(points)
        past = slope([(n, s) for n, s in points if n >= args.ann_from])
        shown = [f"{x:.2f}" if x is not None else "-" for x in (every, past)]
        print(f"  {stage:<11} {shown[0]:>6} | {shown[1]:>6}")
    print("(n log n from 50k to 200k has slope ~1.12; n^2 has 2)")
    if args.recall_rows:
        print(recall_at_10(min(args.recall_rows, max(args.sizes)), cache_dir))


if __name__ == "__main__":
    main()
