"""Preference-pair benchmark on real text (GSM8K, Banking77): injected defects, length bias, KTO, timing.

1. Pairs built from real text: GSM8K questions with their worked answer as chosen and another
   problem's answer as rejected; Banking77 queries with a canned reply of the right intent as chosen
   and of a wrong intent as rejected (replies written from the intent names). Each defect is injected
   at known lines (mismatched sides, identical / one-word-apart sides, contradicting copies, tied
   ratings, repeated pairs, chosen refusals) and the check's rows are scored against them, 3 seeds.
2. Length bias: the same GSM8K prompts and chosen answers with the rejected answer drawn shorter
   (chosen always longer) and drawn at random (balanced).
3. KTO rows from GSM8K with copies labelled the other way.
4. Time of the check (and of size) on 10k Banking77 pairs once the embeddings exist.

    python -m bench.preference_bench [--seeds 0 1 2] [--rows 2000] [--rate 0.03]
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.config import Config, load_config
from auditor.context import AuditContext
from auditor.load import Dataset
from auditor.pairs import MEANINGFUL_WORDS
from auditor.runner import run_check
from bench.inject import case_variant, spacing_variant, typo_variant
from checks import preference, size

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path(__file__).resolve().parents[1] / ".ftaudit-cache"
DEFECTS = ("PREF001", "PREF002", "PREF003", "PREF004", "PREF007", "PREF006")
REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "I'm afraid I can't assist with this one.",
    "Sorry, that's not something I can help with.",
    "I cannot provide an answer to this question.",
    "As an AI language model, I am not able to do that.",
    "I must decline to answer this.",
    "I won't be able to help with this request, sorry.",
    "Unfortunately I'm unable to assist with that.",
)
REPLY_TEMPLATES = (
    "Thanks for contacting us about {topic}. Open the app, go to the {topic} section and follow the steps shown there.",
    "I understand your question about {topic}. Our {topic} guide in the help centre explains each step, and our team "
    "can review your case if anything still looks wrong.",
    "Happy to help with {topic}. Please confirm the last four digits of your card so I can check the {topic} details "
    "on your account.",
)
BANK_SYSTEM = "You are the support assistant of an online bank."
PLAIN_WORD = re.compile(r"^[A-Za-z]{3,}$")


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def load_preference(records: Sequence[dict[str, Any]], path: Path) -> Dataset:
    from auditor.load import load_dataset

    dataset = load_dataset(write_jsonl(path, records), "train")
    assert dataset.task == "preference", f"{path.name} read as {dataset.format} ({dataset.task})"
    return dataset


def context(dataset: Dataset, config: Config | None = None) -> AuditContext:
    from auditor.embed import Embedder

    config = config or load_config(overrides={"embedding": {"cache_dir": str(CACHE)}})
    return AuditContext({"train": dataset}, config, Embedder(cache_dir=CACHE, quiet=True))


# ----- real text -----


def gsm8k(limit: int | None = None) -> list[tuple[str, str]]:
    with open(SHARED / "gsm8k" / "train.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [(r["question"], r["answer"]) for r in rows[:limit]]


def banking77(limit: int | None = None) -> list[tuple[str, str]]:
    with open(SHARED / "banking77" / "train.csv", encoding="utf-8", newline="") as handle:
        return [(r["text"], r["category"]) for r in csv.DictReader(handle)][:limit]


def canned_replies(intent: str) -> list[str]:
    topic = intent.replace("_", " ")
    return [t.format(topic=topic) for t in REPLY_TEMPLATES]


def math_pairs(rows: Sequence[tuple[str, str]], rng: random.Random, shorter: bool = False) -> list[dict[str, Any]]:
    """Conversational pairs with an explicit prompt: the worked answer over another problem's answer (with
    `shorter`, one at most 3/4 of its length in characters, when there is one)."""
    by_length = sorted(range(len(rows)), key=lambda k: len(rows[k][1]))
    lengths = [len(rows[k][1]) for k in by_length]
    records = []
    for k, (question, answer) in enumerate(rows):
        below = bisect.bisect_right(lengths, 0.75 * len(answer))
        if shorter and below:
            other = by_length[rng.randrange(below)]
        else:
            other = rng.choice([j for j in rng.sample(range(len(rows)), 3) if j != k])
        records.append(
            {
                "prompt": [{"role": "user", "content": question}],
                "chosen": [{"role": "assistant", "content": answer}],
                "rejected": [{"role": "assistant", "content": rows[other][1]}],
                "score_chosen": float(rng.randint(7, 10)),
                "score_rejected": float(rng.randint(1, 6)),
            }
        )
    return records


def bank_pairs(rows: Sequence[tuple[str, str]], rng: random.Random) -> list[dict[str, Any]]:
    intents = sorted({intent for _, intent in rows})
    replies = {intent: canned_replies(intent) for intent in intents}
    records = []
    for query, intent in rows:
        wrong = rng.choice([i for i in rng.sample(intents, 3) if i != intent])
        prompt = [{"role": "system", "content": BANK_SYSTEM}, {"role": "user", "content": query}]
        records.append(
            {
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": rng.choice(replies[intent])}],
                "rejected": [{"role": "assistant", "content": rng.choice(replies[wrong])}],
                "score_chosen": float(rng.randint(7, 10)),
                "score_rejected": float(rng.randint(1, 6)),
            }
        )
    return records


# ----- defects -----


def prompt_variant(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same pair with its user turn unchanged, re-cased or re-spaced, or with one typo (a near duplicate)."""
    kind = rng.choice(["same", "case", "space", "typo"])
    change = {
        "same": lambda t: t,
        "case": lambda t: case_variant(t, rng),
        "space": lambda t: spacing_variant(t, rng),
        "typo": lambda t: typo_variant(t, rng),
    }[kind]
    out = json.loads(json.dumps(record))
    user = next(m for m in out["prompt"] if m["role"] == "user")
    user["content"] = change(user["content"])
    return out


def mismatched(record: dict[str, Any], rng: random.Random, questions: Sequence[str]) -> dict[str, Any]:
    """Sides that do not answer the same prompt, written as implicit-prompt conversations that share the first user
    turn: another follow-up user turn (another problem's question), another earlier assistant turn, or a side
    ending with a user turn. The loader keeps them as pairs; the check reports them (PREF001)."""
    prompt, good, bad = record["prompt"], record["chosen"][-1], record["rejected"][-1]
    out = {k: v for k, v in record.items() if k != "prompt"}
    kind = rng.choice(["user", "assistant", "tail"])
    if kind == "user":
        start = prompt + [{"role": "assistant", "content": "Could you say more about what you need?"}]
        out["chosen"] = start + [{"role": "user", "content": "Please solve it step by step."}, good]
        out["rejected"] = start + [{"role": "user", "content": rng.choice(questions)}, bad]
    elif kind == "assistant":
        follow = {"role": "user", "content": "Please go on."}
        out["chosen"] = prompt + [{"role": "assistant", "content": "Let me work through this."}, follow, good]
        out["rejected"] = prompt + [{"role": "assistant", "content": "Here is a quick take."}, follow, bad]
    else:
        out["chosen"], out["rejected"] = prompt + [good], prompt + [bad, {"role": "user", "content": "Thanks!"}]
    return out


def one_word_edit(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    plain = [i for i, w in enumerate(words) if PLAIN_WORD.match(w) and w.lower() not in MEANINGFUL_WORDS]
    i = rng.choice(plain)
    if rng.random() < 0.5:
        del words[i]
    else:
        words[i] = rng.choice(["really", "simply", "basically", "actually"])
    return " ".join(words)


def inject(
    records: list[dict[str, Any]], rng: random.Random, rate: float, questions: Sequence[str]
) -> tuple[list[dict[str, Any]], dict[str, set[int]]]:
    """Defects at `rate` of the rows each (disjoint rows; copies appended at the end); the lines that carry them."""
    n = len(records)
    k = max(1, round(rate * n))
    chosen_rows = rng.sample(range(n), 6 * k)
    picks = {code: chosen_rows[i * k : (i + 1) * k] for i, code in enumerate(DEFECTS)}
    out = [json.loads(json.dumps(r)) for r in records]
    truth: dict[str, set[int]] = {code: set() for code in DEFECTS}
    for row in picks["PREF001"]:
        out[row] = mismatched(out[row], rng, questions)
        truth["PREF001"].add(row + 1)
    for row in picks["PREF002"]:
        answer = out[row]["chosen"][-1]["content"]
        out[row]["rejected"][-1]["content"] = (
            rng.choice([answer, answer.upper(), answer + " "]) if rng.random() < 0.5 else one_word_edit(answer, rng)
        )
        truth["PREF002"].add(row + 1)
    for row in picks["PREF004"]:
        out[row]["score_rejected"] = out[row]["score_chosen"]
        truth["PREF004"].add(row + 1)
    for row in picks["PREF006"]:
        out[row]["chosen"][-1]["content"] = rng.choice(REFUSALS)
        truth["PREF006"].add(row + 1)
    for row in picks["PREF003"]:
        copy = prompt_variant(out[row], rng)
        copy["chosen"][-1], copy["rejected"][-1] = copy["rejected"][-1], copy["chosen"][-1]
        out.append(copy)
        truth["PREF003"] |= {row + 1, len(out)}
    for row in picks["PREF007"]:
        out.append(prompt_variant(out[row], rng))
        truth["PREF007"].add(len(out))
    return out, truth


def scores(flagged: set[int], truth: set[int]) -> tuple[float, float]:
    hits = len(flagged & truth)
    return hits / max(len(flagged), 1), hits / max(len(truth), 1)


def flagged_rows(result: Any, code: str) -> set[int]:
    return {row for f in result.findings if f.code == code for row in f.rows}


def defect_run(
    name: str, records: list[dict[str, Any]], seeds: Sequence[int], rate: float, questions: Sequence[str], folder: Path
) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {code: [] for code in DEFECTS}
    for seed in seeds:
        noisy, truth = inject(records, random.Random(seed), rate, questions)
        dataset = load_preference(noisy, folder / f"{name}_{seed}.jsonl")
        refused = {row for f in dataset.findings if f.code == "FMT016" for row in f.rows}
        ctx = context(dataset)
        ctx.embeddings("train")
        result = run_check(preference, ctx)
        usable = run_check(size, ctx).metrics.get("usable_examples")
        line = [
            f"{name} seed {seed} ({len(noisy):,} rows, {dataset.rows_valid:,} valid, {len(refused)} refused by "
            f"the loader (FMT016), check {result.seconds:.2f}s, usable pairs {usable}):"
        ]
        for code in DEFECTS:
            flagged = flagged_rows(result, code)
            precision, recall = scores(flagged, truth[code])
            results[code].append((precision, recall))
            line.append(f"{code} P {precision:.3f} R {recall:.3f} ({len(truth[code])})")
        print(" ".join(line))
    return results


def length_run(rows: Sequence[tuple[str, str]], folder: Path) -> None:
    for label, shorter in (("chosen always longer", True), ("lengths balanced", False)):
        records = math_pairs(rows, random.Random(7), shorter=shorter)
        dataset = load_preference(records, folder / f"length_{shorter}.jsonl")
        result = run_check(preference, context(dataset))
        length = result.metrics["length"]
        warned = any(f.code == "PREF005" for f in result.findings)
        print(
            f"{label}: {length['pairs']:,} pairs, chosen longer {length['chosen_longer_share']:.1%}, median ratio "
            f"{length['median_ratio']}, predictiveness {length['predictiveness']:.3f} -> PREF005 "
            f"{'yes' if warned else 'no'}"
        )


def kto_run(rows: Sequence[tuple[str, str]], seeds: Sequence[int], rate: float, folder: Path) -> None:
    for seed in seeds:
        rng = random.Random(seed)
        records: list[dict[str, Any]] = []
        for k, (question, answer) in enumerate(rows):
            records.append({"prompt": question, "completion": answer, "label": True})
            if k % 2 == 0:
                records.append({"prompt": question, "completion": rows[(k + 7) % len(rows)][1], "label": False})
        picks = rng.sample(range(len(records)), max(1, round(rate * len(records))))
        truth = set()
        for row in picks:
            copy = dict(records[row], label=not records[row]["label"])
            records.append(copy)
            truth |= {row + 1, len(records)}
        dataset = load_preference(records, folder / f"kto_{seed}.jsonl")
        result = run_check(preference, context(dataset))
        precision, recall = scores(flagged_rows(result, "PREF010"), truth)
        kto = result.metrics["kto"]
        print(
            f"KTO seed {seed} ({len(records):,} rows): PREF010 P {precision:.3f} R {recall:.3f} "
            f"({len(truth)}); desirable {kto['desirable']:,} / undesirable {kto['undesirable']:,}, "
            f"PREF009 {'yes' if any(f.code == 'PREF009' for f in result.findings) else 'no'}"
        )


def timed(work: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def timing_run(folder: Path) -> None:
    import os

    records = bank_pairs(banking77(), random.Random(0))
    ctx = context(load_preference(records, folder / "bank_10k.jsonl"))
    _, embed_wall, _ = timed(lambda: ctx.embeddings("train"))
    _, near_wall, near_cpu = timed(lambda: ctx.near_groups("train"))
    result, wall, cpu = timed(lambda: run_check(preference, ctx))
    print(
        f"timing: {len(records):,} Banking77 pairs (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores): "
        f"embeddings {embed_wall:.1f}s (cache); near-duplicate prompt groups (shared with duplicates and size) "
        f"{near_wall:.2f}s wall / {near_cpu:.2f}s CPU; preference check {wall:.2f}s wall / {cpu:.2f}s CPU; "
        f"status {result.status}, {result.summary}"
    )


def summary(name: str, results: dict[str, list[tuple[float, float]]]) -> None:
    for code, values in results.items():
        p = [v[0] for v in values]
        r = [v[1] for v in values]
        print(
            f"{name} {code} {preference.CODES[code]}: precision min {min(p):.3f} mean {sum(p) / len(p):.3f}, "
            f"recall min {min(r):.3f} mean {sum(r) / len(r):.3f}"
        )


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=0.03)
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    math_rows = gsm8k(args.rows)
    questions = [q for q, _ in gsm8k()[args.rows : args.rows + 1000]]
    bank_rows = banking77()
    bank_rows = random.Random(5).sample(bank_rows, min(args.rows, len(bank_rows)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gsm = defect_run("GSM8K", math_pairs(math_rows, random.Random(1)), args.seeds, args.rate, questions, folder)
        bank = defect_run(
            "Banking77",
            bank_pairs(bank_rows, random.Random(1)),
            args.seeds,
            args.rate,
            [q for q, _ in banking77()[-500:]],
            folder,
        )
        summary("GSM8K", gsm)
        summary("Banking77", bank)
        length_run(math_rows, folder)
        kto_run(math_rows[:1000], args.seeds, args.rate, folder)
        if not args.skip_timing:
            timing_run(folder)


if __name__ == "__main__":
    main()
