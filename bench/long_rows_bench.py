"""Long rows: time of the duplicates check and peak memory of a whole audit on 10,000 long chat rows.

Two sets of real text, every user turn at least 300 words:
  preamble  a 300-word tool description before each GSM8K question (train + test, 8,792), plus
            injected typo / dropped-word copies of random questions up to --rows; replies are the
            GSM8K answers. Only the questions vary.
  distinct  GSM8K question + answer pairs concatenated (shuffled) until each row has 300 words:
            long texts that differ everywhere.
For each: the embeddings are computed first (cached in .ftaudit-cache), then the duplicates check's
own work is timed (varying parts, neighbour graph, near groups, findings). The peak memory of a
whole audit (every check, embeddings cached) runs in a fresh process.

    python -m bench.long_rows_bench [--rows 10000] [--sets preamble distinct] [--skip-audit] [--cold]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.inject import NEAR

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path(__file__).resolve().parents[1] / ".ftaudit-cache"
SYSTEM = "You are a patient maths tutor for primary school pupils."
TOOLS = (
    "You can use the following tools while you help the student. calculator(expression): evaluates an "
    "arithmetic expression with +, -, *, / and parentheses and returns the exact result as a decimal number; use "
    "it for every multiplication or division of numbers with more than two digits, and for any sum of more than "
    "three numbers. unit_convert(value, from_unit, to_unit): converts lengths, weights, volumes, durations and "
    "currencies at the rates published each morning by the platform; never guess a rate yourself and always say "
    "which rate you used. lookup_fact(topic): returns a short encyclopedia entry about a topic, with its source "
    "and the date it was last checked; quote the source when you use a fact. timeline(events): sorts a list of "
    "dated events and returns the gaps between them in days, which helps with questions about ages, schedules "
    "and durations. chart(data, kind): draws a bar or line chart of a small table of numbers and returns it as an "
    "image the student can see; use it only when the question compares more than four quantities or asks how "
    "something changes over time, and describe the chart in one sentence as well. When a tool fails or returns "
    "nothing, say so plainly and continue without it. Work step by "
    "step, write each intermediate result on its own line, keep every step short, and check the arithmetic "
    "before you answer. Prefer whole numbers when the question counts objects or people, and keep two decimals "
    "for money. Do not mention these instructions, the names of the tools or this platform in your reply, and "
    "never ask the student for personal information such as an address, a school or a phone number. If the "
    "question is ambiguous, state the reading you chose in one sentence before you start. End with the final "
    "answer alone on the last line, after four hash signs. The student's question follows."
)


def gsm8k() -> list[dict]:
    rows = []
    for name in ("train.jsonl", "test.jsonl"):
        with open(SHARED / "gsm8k" / name, encoding="utf-8") as handle:
            rows += [json.loads(line) for line in handle]
    return rows


def chat(user: str, reply: str) -> dict:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": user},
            {"role": "assistant", "content": reply},
        ]
    }


def preamble_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    pairs = [(r["question"], r["answer"]) for r in gsm8k()]
    while len(pairs) < n:
        question, answer = rng.choice(pairs[:8792])
        pairs.append((NEAR[rng.choice(["typo", "dropped_word", "swapped_words"])](question, rng), answer))
    return [chat(TOOLS + "\n\n" + q, a) for q, a in pairs[:n]]


def distinct_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    pairs = [r["question"] + "\n" + r["answer"] for r in gsm8k()]
    stream: list[str] = []
    rows = []
    while len(rows) < n:
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < 300:
            if not stream:
                stream = pairs[:]
                rng.shuffle(stream)
            parts.append(stream.pop())
        rows.append(
            chat("Check these worked solutions for mistakes:\n\n" + "\n\n".join(parts), "All steps are correct.")
        )
    return rows


def duplicates_timing(path: Path) -> str:
    from auditor.api import load_inputs, load_options
    from auditor.config import load_config
    from auditor.context import AuditContext
    from auditor.embed import Embedder
    from auditor.registry import REGISTRY
    from auditor.runner import run_check

    config = load_config(overrides={"embedding": {"cache_dir": str(CACHE)}})
    datasets = load_inputs(path, None, None, load_options(config))
    embedder = Embedder(cache_dir=CACHE, quiet=True)
    ctx = AuditContext(datasets, config, embedder)
    started = time.perf_counter()
    ctx.varying("train")
    varied = time.perf_counter()
    ctx.embeddings("train")
    embedded = time.perf_counter()
    ctx.neighbour_graph("train")
    graphed = time.perf_counter()
    ctx.near_groups("train")
    grouped = time.perf_counter()
    result = run_check(REGISTRY["duplicates"], ctx)
    done = time.perf_counter()
    words = sorted(len(t.split()) for t in datasets["train"].valid["input"].to_list())
    own = (varied - started) + (done - embedded)
    return (
        f"rows={len(words)} words/row min={words[0]} median={words[len(words) // 2]}; embed={embedded - varied:.1f}s "
        f"(computed {embedder.stats.computed}, cached {embedder.stats.cached}); duplicates check's own work "
        f"{own:.1f}s = varying parts {varied - started:.1f}s + neighbour graph {graphed - embedded:.1f}s + near groups "
        f"{grouped - graphed:.1f}s + findings {done - grouped:.1f}s\n  {result.summary}"
    )


AUDIT = """
import json, resource, sys, time
from auditor.api import audit
started = time.perf_counter()
report = audit(sys.argv[1], overrides={"embedding": {"cache_dir": sys.argv[2]}})
status = open("/proc/self/status").read() if sys.platform == "linux" else ""
hwm = [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")]
peak = hwm[0] / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # VmHWM: this program only
dup = report.check("duplicates").metrics
print(f"whole audit {time.perf_counter() - started:.1f}s, peak RSS {peak:.0f} MB; decision {report.verdict.decision}, "
      f"readiness {report.verdict.readiness_score}; near-duplicate rows {dup['near_duplicate_rows']}")
"""


def audit_memory(path: Path, cache: Path = CACHE) -> str:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", AUDIT, str(path), str(cache)], capture_output=True, text=True, cwd=root
    )
    return done.stdout.strip() or (
        "audit failed: " + done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "audit failed"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--sets", nargs="+", default=["preamble", "distinct"])
    parser.add_argument("--skip-audit", action="store_true")
    parser.add_argument("--cold", action="store_true", help="also audit with no embedding cached (model exported)")
    args = parser.parse_args()
    builders = {"preamble": preamble_rows, "distinct": distinct_rows}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.sets:
            path = Path(folder) / f"{name}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in builders[name](args.rows)), encoding="utf-8")
            print(f"{name}: {duplicates_timing(path)}", flush=True)
            if not args.skip_audit:
                print(f"{name}: {audit_memory(path)}", flush=True)
            if args.cold:
                with tempfile.TemporaryDirectory() as empty:
                    for kept in ("onnx",):  # the exported model stays: its one-off export is not the audit's cost
                        if (CACHE / kept).exists():
                            (Path(empty) / kept).symlink_to(CACHE / kept)
                    print(f"{name}, no embedding cached: {audit_memory(path, Path(empty))}", flush=True)


if __name__ == "__main__":
    main()
