"""Distinct classification rows at any size from real text: Banking77 and CLINC150 (in-scope intents).

The real single queries come first (distinct after normalisation); past them, each row joins two
different queries of one intent ("How do I top up? Can I top up by card?"), so every row stays
real text with a coherent label. The whole list is shuffled once with a fixed seed, so the rows
for n are the first n of the rows for any larger size (one embedding cache serves every size).

    python -m bench.scale_rows --rows 200000 --warm   # embed every row into the cache, chunk by chunk
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import time
from functools import lru_cache
from pathlib import Path

from auditor.text import normalize

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MAX_ROWS = 200_000
PRODUCTION_ROWS = 3_000


def real_queries() -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name in ("train.csv", "test.csv"):
        with open(SHARED / "banking77" / name, encoding="utf-8") as handle:
            rows += [(r["text"].strip(), f"banking:{r['category']}") for r in csv.DictReader(handle)]
    clinc = json.loads((SHARED / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    for split in ("train", "val", "test"):
        rows += [(text.strip(), f"clinc:{intent}") for text, intent in clinc[split]]
    seen: set[str] = set()
    distinct = []
    for text, label in rows:
        key = normalize(text)
        if key and key not in seen:
            seen.add(key)
            distinct.append((text, label))
    return distinct


def joined(a: str, b: str) -> str:
    a = a.rstrip()
    return f"{a} {b}" if a.endswith(("?", ".", "!")) else f"{a}. {b}"


@lru_cache(maxsize=2)
def all_rows(seed: int = 0) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(training rows as (text, label), production texts): MAX_ROWS distinct rows, PRODUCTION_ROWS held-out queries."""
    rng = random.Random(seed)
    queries = real_queries()
    rng.shuffle(queries)
    production = tuple(text for text, _ in queries[:PRODUCTION_ROWS])
    singles = queries[PRODUCTION_ROWS:]
    by_label: dict[str, list[str]] = {}
    for text, label in singles:
        by_label.setdefault(label, []).append(text)
    labels = sorted(by_label)
    seen = {normalize(text) for text, _ in singles}
    rows = list(singles)
    while len(rows) < MAX_ROWS:
        label = rng.choice(labels)
        a, b = rng.sample(by_label[label], 2)
        text = joined(a, b)
        key = normalize(text)
        if key not in seen:
            seen.add(key)
            rows.append((text, label))
    rng.shuffle(rows)
    return tuple(rows), production


def write_train(path: Path, n: int, seed: int = 0) -> Path:
    rows, _ = all_rows(seed)
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps({"text": text, "label": label}) + "\n" for text, label in rows[:n])
    return path


def write_production(path: Path, seed: int = 0) -> Path:
    _, production = all_rows(seed)
    path.write_text("".join(text.replace("\n", " ") + "\n" for text in production), encoding="utf-8")
    return path


def warm(n: int, chunk: int = 20_000) -> None:
    """Embed the first n rows and the production texts into the default cache, in chunks (progress survives a stop)."""
    from auditor.embed import Embedder

    rows, production = all_rows()
    embedder = Embedder(cache_dir=Path(os.environ.get("FTAUDIT_CACHE_DIR", ".ftaudit-cache")), quiet=True)
    texts = list(production) + [text for text, _ in rows[:n]]
    started = time.perf_counter()
    for start in range(0, len(texts), chunk):
        embedder.encode(texts[start : start + chunk])
        stats = embedder.stats
        load = os.getloadavg()[0]
        print(
            f"{start + chunk:>7} texts: computed {stats.computed}, cached {stats.cached}, "
            f"{time.perf_counter() - started:.0f}s, load {load:.1f}",
            flush=True,
        )
    elapsed = time.perf_counter() - started - embedder.stats.model_load_seconds
    if embedder.stats.computed:
        print(
            f"cold embedding: {embedder.stats.computed} texts in {elapsed:.0f}s = "
            f"{embedder.stats.computed / max(elapsed, 1e-9):.0f} texts/s "
            f"(model load {embedder.stats.model_load_seconds:.1f}s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=MAX_ROWS)
    parser.add_argument("--warm", action="store_true")
    args = parser.parse_args()
    rows, production = all_rows()
    lengths = sorted(len(text) for text, _ in rows[: args.rows])
    print(
        f"{min(args.rows, len(rows))} rows, {len({label for _, label in rows[: args.rows]})} labels, "
        f"median {lengths[len(lengths) // 2]} chars; {len(production)} production texts"
    )
    if args.warm:
        warm(args.rows)


if __name__ == "__main__":
    main()
