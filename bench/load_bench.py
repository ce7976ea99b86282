"""Loading speed per dialect: GSM8K train cycled to N rows, written as plain chat JSONL, as ShareGPT
`.jsonl.gz` and `.jsonl.zst`, and as TRL preference JSONL; each loaded with `load_dataset` (best of R).
The issue's bar: ShareGPT `.jsonl.gz` under 2x plain chat JSONL.

    python -m bench.load_bench [--rows 100000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SYSTEM = "You are a careful math tutor. Show your working."


def source_rows(rows: int) -> list[dict[str, str]]:
    base = [json.loads(line) for line in (SHARED / "gsm8k" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    return [
        {"q": f"{r['question']} (variant {i // len(base)})", "a": r["answer"]}
        for i, r in zip(range(rows), (base[i % len(base)] for i in range(rows)))
    ]


def chat(r: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": r["q"]},
            {"role": "assistant", "content": r["a"]},
        ]
    }


def sharegpt(r: dict[str, str]) -> dict[str, Any]:
    return {"system": SYSTEM, "conversations": [{"from": "human", "value": r["q"]}, {"from": "gpt", "value": r["a"]}]}


def preference(r: dict[str, str]) -> dict[str, Any]:
    return {"prompt": r["q"], "chosen": r["a"], "rejected": r["a"].rsplit("####", 1)[0] + "#### 0"}


def write(path: Path, rows: list[dict[str, str]], shape: Callable[[dict[str, str]], dict[str, Any]]) -> Path:
    data = "".join(json.dumps(shape(r)) + "\n" for r in rows).encode()
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data, compresslevel=6))
    elif path.name.endswith(".zst"):
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        path.write_bytes(data)
    return path


def timed(path: Path, repeat: int) -> tuple[float, Any]:
    from auditor.load import load_dataset

    best, dataset = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        dataset = load_dataset(path, "train")
        best = min(best, time.perf_counter() - started)
    return best, dataset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not (SHARED / "gsm8k" / "train.jsonl").exists():
        raise SystemExit(f"{SHARED / 'gsm8k'} is absent")
    rows = source_rows(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        cases = [
            ("chat .jsonl", "chat.jsonl", chat),
            ("sharegpt .jsonl.gz", "sharegpt.jsonl.gz", sharegpt),
            ("sharegpt .jsonl.zst", "sharegpt.jsonl.zst", sharegpt),
            ("sharegpt .jsonl", "sharegpt.jsonl", sharegpt),
            ("preference .jsonl", "preference.jsonl", preference),
        ]
        results = {}
        print(f"{args.rows:,} rows (GSM8K train cycled), best of {args.repeat}")
        print("| file | MB on disk | format | valid rows | load s | rows/s |")
        print("|---|---|---|---|---|---|")
        for label, name, shape in cases:
            path = write(Path(folder) / name, rows, shape)
            seconds, dataset = timed(path, args.repeat)
            results[label] = seconds
            print(
                f"| {label} | {path.stat().st_size / 1e6:.1f} | {dataset.format} | {dataset.rows_valid:,} | "
                f"{seconds:.2f} | {args.rows / seconds:,.0f} |"
            )
        ratio = results["sharegpt .jsonl.gz"] / results["chat .jsonl"]
        print(f"\nShareGPT .jsonl.gz / chat .jsonl: {ratio:.2f}x (bar: under 2x)")


if __name__ == "__main__":
    main()
