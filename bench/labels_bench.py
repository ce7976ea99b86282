"""Label-consistency benchmark on real data (Banking77, dbpedia_samples, GSM8K).

1. Label noise: flips the labels of 5% / 10% of Banking77 train rows to a random other label
   (several seeds) and scores the check's suspected rows against the flipped ones; also scores
   cleanlab's `filter_by="both"` rule on the same probabilities, and times the check on the
   10k rows once embeddings and duplicate groups exist.
2. The untouched Banking77 file: what it suspects, for reading.
3. Injected label spelling variants and conflicting duplicates (Banking77, dbpedia_samples).
4. GSM8K: copies of questions with another "#### n" answer, and the untouched file.

    python -m bench.labels_bench [--seeds 0 1 2 3 4] [--rates 0.05 0.1] [--compare]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from auditor.api import audit, load_inputs, load_options
from auditor.config import load_config
from auditor.context import AuditContext
from bench.inject import NEAR, case_variant
from checks import labels as labels_check

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPELLINGS = (
    str.upper,
    str.lower,
    lambda s: s + " ",
    lambda s: s.replace("_", "-"),
    lambda s: s[:2] + s[3] + s[2] + s[4:] if len(s) >= 5 else s,
)  # a typo; shorter labels are never compared for typos


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def flip(labels: list[str], rate: float, seed: int) -> tuple[list[str], set[int]]:
    rng = random.Random(seed)
    classes = sorted(set(labels))
    rows = rng.sample(range(len(labels)), round(rate * len(labels)))
    noisy = list(labels)
    for row in rows:
        noisy[row] = rng.choice([c for c in classes if c != labels[row]])
    return noisy, set(rows)


def scores(flagged: set[int], truth: set[int]) -> tuple[float, float, float]:
    hits = len(flagged & truth)
    precision = hits / max(len(flagged), 1)
    recall = hits / max(len(truth), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def noisy_context(base: AuditContext, labels: list[str]) -> AuditContext:
    """The base context with other labels; inputs are unchanged, so embeddings and groups are reused."""
    train = base.train
    valid_labels = iter(labels)
    column = [next(valid_labels) if ok else None for ok in train.frame["valid"].to_list()]
    frame = train.frame.with_columns(
        pl.Series("label", column, dtype=pl.String), pl.Series("output", column, dtype=pl.String)
    )
    return AuditContext({"train": replace(train, frame=frame)}, base.config, base.embedder, dict(base._memo))


def both_rule(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """cleanlab's filter_by='both': prune_by_class ∩ prune_by_noise_rate on the calibrated confident joint."""
    n, k = probabilities.shape
    counts = np.bincount(labels, minlength=k)
    thresholds = np.array([probabilities[labels == c, c].mean() for c in range(k)])
    confident = probabilities >= thresholds - 1e-9
    guess = np.where(confident, probabilities, -1).argmax(axis=1)
    has = confident.any(axis=1)
    joint = np.zeros((k, k))
    np.add.at(joint, (labels[has], guess[has]), 1)
    joint = np.round(joint / np.maximum(joint.sum(axis=1, keepdims=True), 1) * counts[:, None]).astype(int)
    by_class, by_noise = np.zeros(n, bool), np.zeros(n, bool)
    for given in range(k):
        rows = np.flatnonzero(labels == given)
        off = joint[given].sum() - joint[given, given]
        by_class[rows[np.argsort(probabilities[rows, given])[:off]]] = True
        for true in range(k):
            if true != given and joint[given, true]:
                margin = probabilities[rows, true] - probabilities[rows, given]
                by_noise[rows[np.argsort(-margin)[: joint[given, true]]]] = True
    return by_class & by_noise & (probabilities.argmax(axis=1) != labels)


def label_noise(seeds: list[int], rates: list[float], compare: bool) -> None:
    from auditor.confident import ModelParams, out_of_fold_probabilities

    config = load_config()
    section = config.section("labels")
    base = AuditContext(load_inputs(SHARED / "banking77" / "train.csv", None, None, load_options(config)), config)
    started = time.perf_counter()
    base.embeddings("train")
    embedded = time.perf_counter()
    base.near_groups("train")
    grouped = time.perf_counter()
    lines = base.train.valid["line"].to_list()
    labels = base.train.valid["label"].to_list()
    print(
        f"banking77 train: {len(lines)} rows; embeddings {embedded - started:.1f}s (cached), "
        f"neighbour graph + near groups {grouped - embedded:.1f}s (shared with the duplicates check)"
    )
    seconds = []
    for _ in range(3):
        t = time.perf_counter()
        clean = labels_check.run(noisy_context(base, labels), section)
        seconds.append(time.perf_counter() - t)
    clean_flags = set(clean.row_values["train"]["suspected_label"])
    print(
        f"labels check on the untouched file: median {statistics.median(seconds):.2f}s of {len(seconds)} runs; "
        f"{len(clean_flags)} suspected, cv_accuracy {clean.metrics['cv_accuracy']}, "
        f"curve {clean.metrics['learning_curve']}"
    )
    for rate in rates:
        results, results_both, right = [], [], []
        for seed in seeds:
            noisy, rows = flip(labels, rate, seed)
            truth = {lines[r] for r in rows}
            result = labels_check.run(noisy_context(base, noisy), section)
            suggested = result.row_values["train"]["suspected_label"]
            results.append(scores(set(suggested), truth))
            right.append(
                sum(suggested[lines[r]] == labels[r] for r in rows if lines[r] in suggested)
                / max(len(truth & set(suggested)), 1)
            )
            excluded = scores(set(suggested) - (clean_flags - truth), truth)
            print(
                f"  rate={rate} seed={seed}: precision {results[-1][0]:.3f} recall {results[-1][1]:.3f} "
                f"F1 {results[-1][2]:.3f} "
                f"(F1 {excluded[2]:.3f} not counting rows flagged on the untouched file); "
                f"suggested label right {right[-1]:.3f}"
            )
            if compare:
                classes = sorted(set(noisy))
                y = np.array([classes.index(c) for c in noisy])
                params = ModelParams(
                    section["neighbours"],
                    section["neighbour_temperature"],
                    section["neighbour_weight"],
                    section["shrinkage"],
                    section["folds"],
                    section["seed"],
                )
                probabilities = out_of_fold_probabilities(
                    base.embeddings("train"), y, np.array(base.near_groups("train")[1]), len(classes), params
                )
                results_both.append(scores({lines[r] for r in np.flatnonzero(both_rule(probabilities, y))}, truth))
        mean = np.mean(results, axis=0)
        print(
            f"rate={rate}: mean precision {mean[0]:.3f} recall {mean[1]:.3f} F1 {mean[2]:.3f} "
            f"(min F1 {min(r[2] for r in results):.3f}) "
            f"over seeds {seeds}; suggested label right {np.mean(right):.3f}"
        )
        if compare:
            mean = np.mean(results_both, axis=0)
            print(
                f"rate={rate}: cleanlab filter_by='both' on the same probabilities: precision {mean[0]:.3f} "
                f"recall {mean[1]:.3f} F1 {mean[2]:.3f}"
            )
    texts = dict(zip(lines, base.train.valid["input"].to_list()))
    scores_by_line = clean.row_values["train"]["label_issue_score"]
    print("highest-scored suspected rows on the untouched file:")
    for line in sorted(clean_flags, key=lambda line_: -scores_by_line[line_])[:15]:
        print(
            f"  line {line}: {texts[line].strip()!r} labelled {labels[lines.index(line)]!r} -> "
            f"{clean.row_values['train']['suspected_label'][line]!r}"
        )


def classification_rows(name: str) -> list[dict[str, str]]:
    if name == "banking77":
        with open(SHARED / "banking77" / "train.csv", encoding="utf-8") as handle:
            return [{"text": r["text"], "label": r["category"]} for r in csv.DictReader(handle)]
    with open(SHARED / "openai_cookbook" / "dbpedia_samples.jsonl", encoding="utf-8") as handle:
        return [{"text": r["text"], "label": r["category"]} for r in map(json.loads, handle)]


def inject_label_defects(
    rows: list[dict[str, str]], per_kind: int, rng: random.Random
) -> tuple[list[dict[str, str]], dict[int, str], list[tuple[int, int]]]:
    """Respell the labels of `per_kind` rows, and append `per_kind` copies (exact or near variants) of other
    rows with another label. Returns the rows, {line: injected spelling} and (source line, copy line) pairs."""
    rows = list(rows)
    n = len(rows)
    classes = sorted({r["label"] for r in rows})
    spelled: dict[int, str] = {}
    for source in rng.sample(range(n), 3 * per_kind):
        spelling = rng.choice(SPELLINGS)(rows[source]["label"])
        if spelling != rows[source]["label"] and len(spelled) < per_kind:
            rows[source] = {**rows[source], "label": spelling}
            spelled[source + 1] = spelling
    conflicts = []
    for k, source in enumerate(rng.sample(sorted(set(range(n)) - {s - 1 for s in spelled}), per_kind)):
        text = rows[source]["text"]
        variant = case_variant(text, rng) if k % 2 == 0 else rng.choice(list(NEAR.values()))(text, rng)
        rows.append({"text": variant, "label": rng.choice([c for c in classes if c != rows[source]["label"]])})
        conflicts.append((source + 1, len(rows)))
    return rows, spelled, conflicts


def found_together(check: Any, code: str, pairs: list[tuple[int, int]]) -> int:
    """How many pairs of lines share one finding of `code`."""
    groups = [set(f.rows) for f in check.findings if f.code == code]
    return sum(1 for a, b in pairs if any(a in g and b in g for g in groups))


def found_spellings(check: Any, spelled: dict[int, str]) -> int:
    vocabulary = next((f for f in check.findings if f.code == "LBL002"), None)
    variants = {s for g in (vocabulary.data["groups"] if vocabulary else []) for s in list(g["spellings"])[1:]}
    return sum(1 for s in spelled.values() if s in variants)


def injected_labels(name: str, folder: Path, per_kind: int, seed: int) -> None:
    rows, spelled, conflicts = inject_label_defects(classification_rows(name), per_kind, random.Random(seed))
    check = audit(write_jsonl(folder / f"{name}-labels.jsonl", rows), only=["duplicates", "labels"]).check("labels")
    print(
        f"{name} seed={seed}: spelling variants found {found_spellings(check, spelled)}/{len(spelled)} "
        f"(reported {check.metrics['vocabulary_variants']}); conflicting duplicates found "
        f"{found_together(check, 'LBL001', conflicts)}/{len(conflicts)}; "
        f"conflict groups {check.metrics['conflict_groups']}; "
        f"status {check.status}"
    )


def inject_answers(
    rows: list[dict[str, str]], count: int, rng: random.Random
) -> tuple[list[dict[str, str]], list[tuple[int, int]]]:
    """Append copies of `count` questions (verbatim or re-cased) whose final '#### n' line has another number."""
    rows = list(rows)
    pairs = []
    for k, source in enumerate(rng.sample(range(len(rows)), count)):
        answer = re.sub(r"####\s*(.+)$", lambda m: f"#### {m.group(1).replace(',', '')}1", rows[source]["answer"])
        question = rows[source]["question"] if k % 2 == 0 else case_variant(rows[source]["question"], rng)
        rows.append({"question": question, "answer": answer})
        pairs.append((source + 1, len(rows)))
    return rows, pairs


def gsm8k(folder: Path, count: int, seed: int) -> None:
    clean = audit(SHARED / "gsm8k" / "train.jsonl", only=["duplicates", "outputs"]).check("outputs")
    print(
        f"gsm8k untouched: {clean.metrics['contradictions']} contradiction groups, "
        f"{clean.metrics['format_breaks']} format breaks, "
        f"pattern {clean.metrics['final_answer_pattern']!r}, {clean.seconds:.2f}s"
    )
    with open(SHARED / "gsm8k" / "train.jsonl", encoding="utf-8") as handle:
        rows, pairs = inject_answers([json.loads(line) for line in handle], count, random.Random(seed))
    check = audit(write_jsonl(folder / "gsm8k.jsonl", rows), only=["duplicates", "outputs"]).check("outputs")
    print(
        f"gsm8k with {count} injected answers: found {found_together(check, 'LBL006', pairs)}/{count}; "
        f"contradiction groups {check.metrics['contradictions']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--compare", action="store_true", help="also score cleanlab's filter_by='both' rule")
    args = parser.parse_args()
    label_noise(args.seeds, args.rates, args.compare)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("banking77", "dbpedia"):
            for seed in args.seeds[:3]:
                injected_labels(name, Path(tmp), 30 if name == "banking77" else 8, seed)
        gsm8k(Path(tmp), 10, args.seeds[0])


if __name__ == "__main__":
    main()
