from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from auditor.api import audit
from auditor.intervals import wilson
from tests.conftest import SAMPLE, shared_file

BUSINESS = {2, 25, 36, 42, 45, 48, 54, 57, 80, 90, 92, 95, 96, 100, 108, 109, 136, 143}
DANGEROUS = {21, 44, 46, 49, 61, 77, 86, 88, 113, 125, 133, 140}
FOREIGN = {4, 10, 17, 38, 58, 65, 75, 78, 84, 122}
SHIFTED = BUSINESS | DANGEROUS | FOREIGN


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def production_values(report, field: str) -> dict[int, object]:
    frame = report.annotations.filter(report.annotations["split"] == "production")
    return {line: value for line, value in zip(frame["line"].to_list(), frame[field].to_list()) if value is not None}


def auc(scores: list[float], truth: list[bool]) -> float:
    positives = [s for s, t in zip(scores, truth) if t]
    negatives = [s for s, t in zip(scores, truth) if not t]
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@pytest.fixture(scope="module")
def clinc_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str], set[str]]:
    """20 intents × 30 training rows; production: their test rows, 10 unseen intents' test rows, 50 out-of-scope."""
    data = json.loads(shared_file("clinc150", "data_full.json").read_text(encoding="utf-8"))
    intents = random.Random(0).sample(sorted({i for _, i in data["train"]}), 30)
    known = set(intents[:20])
    per_intent: Counter[str] = Counter()
    train = []
    for text, intent in data["train"]:
        if intent in known and per_intent[intent] < 30:
            per_intent[intent] += 1
            train.append({"text": text, "label": intent})
    production = [(t, i) for t, i in data["test"] if i in set(intents)] + [(t, i) for t, i in data["oos_test"][:50]]
    folder = tmp_path_factory.mktemp("clinc")
    train_path = write_jsonl(folder / "train.jsonl", train)
    prod_path = write_jsonl(folder / "production.jsonl", [{"text": t} for t, _ in production])
    return train_path, prod_path, [i for _, i in production], known


def test_skipped_without_production_says_coverage_is_unknown(isolated_config: Path) -> None:
    result = audit(SAMPLE / "support_train.jsonl", only=["coverage"]).check("coverage")
    assert result.status == "skipped"
    assert "unknown" in result.summary and "--production" in result.summary


@pytest.mark.calibration
def test_clinc_slice_coverage_is_near_the_truth(clinc_slice, isolated_config: Path) -> None:
    train_path, prod_path, intents, known = clinc_slice
    report = audit(train_path, prod_path, only=["coverage"])
    result = report.check("coverage")
    truth = [intent in known for intent in intents]
    assert result.metrics["production_rows"] == result.metrics["sampled_rows"] == len(intents) == 950
    share = sum(truth) / len(truth)
    assert abs(result.metrics["coverage"] - share) <= 0.06
    low, high = result.metrics["coverage_ci_low"], result.metrics["coverage_ci_high"]
    assert low < result.metrics["coverage"] < high and low <= share <= high
    from auditor.intervals import wilson

    sampling = wilson(result.metrics["covered_rows"], 950)
    assert low < sampling[0] and high > sampling[1]  # the rule's own error widens the sampling interval
    calibration = result.metrics["calibration"]
    assert calibration["covered_of_held_out_rows"] >= 0.85 and calibration["covered_of_held_out_classes"] <= 0.5
    basis = result.metrics["threshold_basis"]
    assert basis["classes"] == "labels" and basis["class_count"] == 20
    similarity = production_values(report, "nearest_train_similarity")
    score = production_values(report, "coverage_score")
    assert len(similarity) == len(score) == 950 and all(0.0 <= v <= 1.0 for v in score.values())
    by_similarity = auc([similarity[line] for line in range(1, 951)], truth)
    by_score = auc([score[line] for line in range(1, 951)], truth)
    assert by_similarity >= 0.88 and by_score >= 0.93 and by_score > by_similarity
    covered = production_values(report, "covered")
    assert all(covered[line] == (score[line] > 0.05) for line in covered)
    assert sum(covered[line] for line, ok in enumerate(truth, 1) if ok) / sum(truth) >= 0.8
    evidence = result.evidence[0]
    assert (evidence.coverage, evidence.ci_low, evidence.ci_high) == (result.metrics["coverage"], low, high)
    assert evidence.sample_size == evidence.production_rows == 950
    nearest = production_values(report, "nearest_train_line")
    assert set(nearest.values()) <= set(range(1, 601))
    assert result.status == "fail"


@pytest.mark.calibration
def test_clinc_slice_unseen_intents_form_clusters(clinc_slice, isolated_config: Path) -> None:
    train_path, prod_path, intents, known = clinc_slice
    report = audit(train_path, prod_path, only=["coverage"])
    result = report.check("coverage")
    clusters = [f for f in result.findings if f.code == "COV003" and f.severity == "warning"]
    assert clusters and all(f.split == "production" for f in clusters)
    majority, pure = {}, 0
    for finding in clusters:
        intent, count = Counter(intents[line - 1] for line in finding.rows).most_common(1)[0]
        assert count / len(finding.rows) >= 0.5
        majority.setdefault(intent, finding)
        pure += count
    assert pure / sum(len(f.rows) for f in clusters) >= 0.9
    unseen = set(intents) - known - {"oos"}
    assert len(unseen & set(majority)) >= 8
    clustered = [intents[line - 1] for f in clusters for line in f.rows]
    assert sum(intent not in known for intent in clustered) / len(clustered) >= 0.8
    listed = result.metrics["uncovered_clusters"]
    first = listed[0]
    assert {
        "id",
        "size",
        "share",
        "examples",
        "nearest_train_line",
        "nearest_train_example",
        "examples_to_collect",
        "nearest_label",
        "sibling",
    } <= set(first)
    first_intent = intents[first["examples"][0]["line"] - 1]
    assert len(first["examples"]) == 3 and all(intents[e["line"] - 1] == first_intent for e in first["examples"])
    assert first["examples_to_collect"] >= max(10, round(first["share"] * 600))
    assert all(c["nearest_label"] in known and isinstance(c["sibling"], bool) for c in listed)
    assert all(("looks like `" in f.message) == f.data["sibling"] for f in clusters)
    evidence = [(u.nearest_label, u.sibling) for u in result.evidence[0].uncovered]
    assert evidence == [(c["nearest_label"], c["sibling"]) for c in listed]
    cluster_of = production_values(report, "cluster")
    assert sorted(line for line, c in cluster_of.items() if c == first["id"]) == list(clusters[0].rows)
    assert all(not production_values(report, "covered")[line] for line in cluster_of)


def test_support_sample_finds_the_uncovered_topics(isolated_config: Path) -> None:
    """200 unlabelled chat rows (k-means stand-in classes): the rule is lenient on a set this small and diffuse
    (86% covered where 110 of 150 are on-topic), but what it leaves uncovered is off-topic, and the two
    foreign-language groups are reported as clusters unlike any training class."""
    report = audit(SAMPLE / "support_train.jsonl", SAMPLE / "support_production.jsonl", only=["coverage"])
    result = report.check("coverage")
    covered = production_values(report, "covered")
    uncovered = {line for line, ok in covered.items() if not ok}
    assert len(covered) == 150
    assert FOREIGN <= uncovered and len(uncovered & SHIFTED) / len(uncovered) >= 0.75
    assert 110 / 150 <= result.metrics["coverage"] <= 110 / 150 + 0.15
    assert result.metrics["threshold_basis"]["classes"] == "k-means stand-in clusters"
    clusters = [f for f in result.findings if f.code == "COV003" and f.severity == "warning"]
    groups = [set(f.rows) for f in clusters]
    assert any(len(g) >= 4 and g <= FOREIGN for g in groups), groups
    assert all(g <= SHIFTED for g in groups) and all("unlike any training class" in f.message for f in clusters)
    assert result.status in ("warn", "fail")
    metrics = result.metrics
    assert sum(metrics["similarity_histogram"]["counts"]) == 150
    assert len(metrics["similarity_histogram"]["bins"]) == len(metrics["similarity_histogram"]["counts"]) + 1
    splits = Counter(point["split"] for point in metrics["map"])
    assert splits["production"] == 150 and 0 < splits["train"] <= 1500
    assert all(point["covered"] is None for point in metrics["map"] if point["split"] == "train")
    assert 0.0 <= metrics["domain_auc"] <= 1.0


def test_plain_text_production_matches_the_jsonl(isolated_config: Path) -> None:
    jsonl = audit(SAMPLE / "support_train.jsonl", SAMPLE / "support_production.jsonl", only=["coverage"])
    text = audit(SAMPLE / "support_train.jsonl", SAMPLE / "support_production.txt", only=["coverage"])
    a, b = production_values(jsonl, "covered"), production_values(text, "covered")
    assert a.keys() == b.keys() and sum(a[line] == b[line] for line in a) >= 147


def test_fixed_threshold_and_sampling(isolated_config: Path) -> None:
    loose = audit(
        SAMPLE / "support_train.jsonl",
        SAMPLE / "support_production.jsonl",
        only=["coverage"],
        overrides={"coverage": {"threshold": 0.1}},
    ).check("coverage")
    assert loose.metrics["threshold"] == 0.1 and loose.metrics["threshold_basis"]["source"] == "fixed"
    assert loose.metrics["coverage"] == 1.0 and loose.status == "pass" and not loose.findings
    report = audit(
        SAMPLE / "support_train.jsonl",
        SAMPLE / "support_production.jsonl",
        only=["coverage"],
        overrides={"coverage": {"sample": 60, "seed": 3}},
    )
    sampled = report.check("coverage")
    assert sampled.metrics["sampled_rows"] == 60 and sampled.metrics["production_rows"] == 150
    assert sampled.metrics["sampled"] is True and "a sample of 60 of 150" in sampled.summary
    assert len(production_values(report, "covered")) == 60
    width = sampled.metrics["coverage_ci_high"] - sampled.metrics["coverage_ci_low"]
    full = audit(SAMPLE / "support_train.jsonl", SAMPLE / "support_production.jsonl", only=["coverage"]).check(
        "coverage"
    )
    assert width > full.metrics["coverage_ci_high"] - full.metrics["coverage_ci_low"]


@pytest.mark.calibration
def test_same_task_is_covered_and_other_tasks_are_not(tmp_path: Path, isolated_config: Path) -> None:
    gsm = [json.loads(line) for line in open(shared_file("gsm8k", "train.jsonl"), encoding="utf-8")][:1500]
    test = [json.loads(line)["question"] for line in open(shared_file("gsm8k", "test.jsonl"), encoding="utf-8")][:200]
    instructions = shared_file("self_instruct", "user_oriented_instructions.jsonl")
    tasks = [json.loads(line)["instruction"] for line in open(instructions, encoding="utf-8")][:100]
    clinc = json.loads(shared_file("clinc150", "data_full.json").read_text(encoding="utf-8"))
    queries = [t for t, _ in clinc["test"][::45]]
    train = write_jsonl(tmp_path / "gsm.jsonl", [{"question": r["question"], "answer": r["answer"]} for r in gsm])
    production = write_jsonl(tmp_path / "prod.jsonl", [{"text": t} for t in test + tasks + queries])
    report = audit(train, production, only=["coverage"])
    covered = production_values(report, "covered")
    assert sum(covered[line] for line in range(1, 201)) / 200 >= 0.9
    others = range(201, 201 + len(tasks) + len(queries))
    assert sum(not covered[line] for line in others) / len(others) >= 0.95
    test_only = write_jsonl(tmp_path / "test.jsonl", [{"text": t} for t in test])
    same_task = audit(train, test_only, only=["coverage"]).check("coverage")
    assert same_task.metrics["coverage"] >= 0.9 and same_task.metrics["domain_auc"] <= 0.65
    assert report.check("coverage").metrics["domain_auc"] >= same_task.metrics["domain_auc"] + 0.15


def test_wilson_interval() -> None:
    low, high = wilson(5, 10)
    assert round(low, 4) == 0.2366 and round(high, 4) == 0.7634
    assert wilson(0, 10)[0] == 0.0 and round(wilson(0, 10)[1], 4) == 0.2775
    assert wilson(0, 0) == (0.0, 1.0)


class CountingEmbedder:
    """Embeds with the bundled model and records every text it is asked to embed."""

    def __init__(self) -> None:
        from auditor.embed import Embedder

        self.inner = Embedder(quiet=True)
        self.asked: list[str] = []

    def encode(self, texts: list[str]) -> object:
        self.asked.extend(texts)
        return self.inner.encode(texts)


def test_production_is_sampled_before_it_is_embedded(tmp_path: Path, isolated_config: Path) -> None:
    from auditor.api import load_inputs, load_options
    from auditor.config import load_config
    from auditor.context import AuditContext
    from auditor.registry import REGISTRY
    from auditor.runner import run_check

    lines = (SAMPLE / "support_production.txt").read_text(encoding="utf-8").splitlines()
    production = tmp_path / "big.txt"
    production.write_text("".join(f"{lines[i % len(lines)]} (ticket {i})\n" for i in range(1000)), encoding="utf-8")
    config = load_config(overrides={"coverage": {"sample": 120, "seed": 7}})
    datasets = load_inputs(SAMPLE / "support_train.jsonl", production, None, load_options(config))
    embedder = CountingEmbedder()
    ctx = AuditContext(datasets, config, embedder)
    result = run_check(REGISTRY["coverage"], ctx)
    train_rows = datasets["train"].rows_valid
    assert len(embedder.asked) == train_rows + 120  # never the 1,000 production rows
    assert result.metrics["sampled_rows"] == 120 and result.metrics["production_rows"] == 1000
    assert result.evidence[0].sample_size == 120 and result.evidence[0].production_rows == 1000
    assert "a sample of 120 of 1000" in result.summary
    sampled = sorted(result.row_values["production"]["covered"])
    assert len(sampled) == 120 and sampled == sorted(int(r) + 1 for r in ctx.sample_rows("production", 120, 7))
    expected = {f"{lines[(line - 1) % len(lines)]} (ticket {line - 1})" for line in sampled}
    assert set(embedder.asked[train_rows:]) <= expected
    full = ctx.embeddings("production")  # other callers still get every row
    assert len(full) == 1000 and len(embedder.asked) == train_rows + 120 + 1000


def test_interval_adds_the_rule_error_to_sampling_noise() -> None:
    from auditor.ood import Calibration, interval

    sampling = wilson(500, 1000)
    assert interval(500, 1000, None) == sampling
    separating = Calibration(covered_in=0.95, covered_out=0.2, rows_in=3000, rows_out=4000, folds=5)
    low, high = interval(500, 1000, separating)
    assert low < (sampling[0] - 0.2) / 0.75 + 0.01 and high > sampling[1] / 0.95 - 0.01
    assert low < sampling[0] and high > sampling[1]
    overlapping = Calibration(covered_in=0.95, covered_out=0.9, rows_in=3000, rows_out=4000, folds=5)
    assert interval(500, 1000, overlapping)[0] == sampling[0]  # held-out stand-ins not told apart: no false-rate term
    assert interval(1000, 1000, separating)[1] == 1.0 and interval(0, 1000, separating)[0] == 0.0
