"""Tokenizing a 10,000-row chat set for each target: render the chat template, tokenize, mask, truncate.

python -m bench.tokenize_bench [--rows 10000]
Rows are GSM8K questions and answers as chat records (a system prompt; every third row has two turns). Timed is
the tokens check's planning (`auditor.targets.rows.plan_rows`) on the loaded set, after a warm-up that loads
each tokenizer once; loading the file is not timed. CPU seconds count every thread of the process (tokenizers
encode on threads that release the GIL), so with other work on the machine they are the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from auditor.config import all_defaults
from auditor.load import load_dataset
from auditor.targets import SHIPPED
from auditor.targets.rows import plan_rows

GSM8K = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k"


def chat_rows(count: int) -> list[dict[str, object]]:
    pairs = [
        json.loads(line)
        for name in ("train.jsonl", "test.jsonl")
        for line in (GSM8K / name).read_text(encoding="utf-8").splitlines()
    ]
    rows = []
    for n in range(count):
        first, second = pairs[n % len(pairs)], pairs[(n * 7 + 3) % len(pairs)]
        messages = [
            {"role": "system", "content": "You solve grade-school math problems step by step."},
            {"role": "user", "content": first["question"]},
            {"role": "assistant", "content": first["answer"]},
        ]
        if n % 3 == 0:
            messages += [
                {"role": "user", "content": second["question"]},
                {"role": "assistant", "content": second["answer"]},
            ]
        rows.append({"messages": messages})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args()
    if not GSM8K.exists():
        raise SystemExit(f"{GSM8K} is absent")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chat.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in chat_rows(args.rows)), encoding="utf-8")
        dataset = load_dataset(path, "train")
        small = load_dataset(path, "train")
        defaults = all_defaults()["tokens"]
        print(
            f"{dataset.rows_valid:,} chat rows; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start"
        )
        print("| target | seconds | CPU seconds | rows/s | tokens p50 | max | total tokens |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name in SHIPPED:
            config = {**defaults, "target": name}
            SHIPPED[name].encoder()  # load the tokenizer once (not timed)
            plan_rows(_head(small, 50), config)  # warm-up
            started, cpu = time.perf_counter(), time.process_time()
            plan = plan_rows(dataset, config)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            totals = sorted(p.total for p in plan.plans if p)
            print(
                f"| {name} | {seconds:.2f} | {cpu:.2f} | {len(totals) / seconds:,.0f} | "
                f"{totals[len(totals) // 2]:,} | "
                f"{totals[-1]:,} | {sum(totals):,} |"
            )
        print(f"load average at end: {os.getloadavg()[0]:.2f}")


def _head(dataset: object, rows: int) -> object:
    from dataclasses import replace

    return replace(dataset, frame=dataset.frame.head(rows))  # type: ignore[type-var, attr-defined]


if __name__ == "__main__":
    main()
