"""The neighbour graph: exact below `ann_from`, HNSW past it, with the same findings on real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from auditor.confident import ModelParams, out_of_fold_probabilities
from auditor.neighbors import hnsw_index, nearest, neighbour_graph
from tests.conftest import SAMPLE, shared_file


def clustered(n: int, dim: int = 48, centres: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, dim))
    vectors = middle[rng.integers(0, centres, n)] + rng.normal(scale=0.35, size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(approx, exact)]))


def test_ann_graph_matches_exact_and_is_reproducible() -> None:
    vectors = clustered(4000)
    exact = neighbour_graph(vectors, 10, 0.8, ann_from=10**9)
    approx = neighbour_graph(vectors, 10, 0.8, ann_from=100)
    assert exact.ann is None and approx.ann is not None
    assert recall(approx.index, exact.index) >= 0.98
    assert not np.any(approx.index == np.arange(len(vectors))[:, None])
    assert np.all(np.diff(approx.similarity, axis=1) <= 1e-6)
    picked = np.take_along_axis(vectors @ vectors.T, np.maximum(approx.index, 0), axis=1)
    np.testing.assert_allclose(picked, approx.similarity, atol=1e-5)
    exact_pairs = set(zip(exact.pair_i.tolist(), exact.pair_j.tolist()))
    approx_pairs = set(zip(approx.pair_i.tolist(), approx.pair_j.tolist()))
    assert len(exact_pairs & approx_pairs) >= 0.98 * len(exact_pairs)
    again = neighbour_graph(vectors, 10, 0.8, ann_from=100)
    assert np.array_equal(again.index, approx.index) and np.array_equal(again.similarity, approx.similarity)


def test_small_sets_stay_exact() -> None:
    vectors = clustered(300)
    graph = neighbour_graph(vectors, 5, 0.5)
    assert graph.ann is None
    index, _ = nearest(vectors, vectors, 6)
    assert np.array_equal(graph.index, index[:, 1:])


def test_neighbour_vote_with_ann_candidates_matches_exact() -> None:
    vectors = clustered(3000, centres=20)
    labels = np.repeat(np.arange(20), 150)[np.random.default_rng(1).permutation(3000)]
    labels = np.where(np.arange(3000) < 2700, np.argmax(vectors @ clustered(20, seed=5).T, axis=1), labels)
    groups = np.arange(3000)
    params = ModelParams(neighbours=20, neighbour_weight=1.0)
    exact = out_of_fold_probabilities(vectors, labels, groups, 20, params)
    approx = out_of_fold_probabilities(vectors, labels, groups, 20, params, hnsw_index(vectors), list(range(3000)))
    assert np.mean(exact.argmax(axis=1) == approx.argmax(axis=1)) >= 0.995
    assert float(np.abs(exact - approx).max()) < 0.1


def audit_findings(path: Path, ann_from: int) -> dict[str, list[tuple[str, str, tuple[int, ...]]]]:
    from auditor.api import audit
    from auditor.registry import REGISTRY

    wanted = [c for c in ("format", "duplicates", "size", "labels", "outputs") if c in REGISTRY]
    report = audit(path, overrides={"neighbours": {"ann_from": ann_from}}, only=wanted)
    return {c.id: [(f.code, f.message, tuple(f.rows)) for f in c.findings] for c in report.checks}


def reworded_word_problems(folder: Path) -> tuple[Path, set[tuple[int, ...]]]:
    """The sample word problems with lines 5, 30, 60 and 90 asked again in other words (appended as 102-105)."""
    lines = (SAMPLE / "math_word_problems.jsonl").read_text(encoding="utf-8").splitlines()
    for n in (5, 30, 60, 90):
        row = json.loads(lines[n - 1])
        question = row["question"]
        row["question"] = (
            question.replace("How many", "Exactly how many", 1)
            if "How many" in question
            else question.rstrip("?") + ", exactly?"
        )
        lines.append(json.dumps(row))
    path = folder / "word_problems.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, {(5, 102), (30, 103), (60, 104), (90, 105)}


@pytest.mark.calibration
@pytest.mark.parametrize("parts", [("banking77", "train.csv"), ("gsm8k", "train.jsonl")])
def test_findings_identical_with_the_ann_threshold_forced_low(parts: tuple[str, str]) -> None:
    path = shared_file(*parts)
    exact, approx = audit_findings(path, 10**9), audit_findings(path, 2)
    assert exact == approx


def test_sample_findings_identical_with_the_ann_threshold_forced_low(tmp_path: Path) -> None:
    """Both stand-ins, where the graph decides findings: the two ambiguous bank queries (label vote) and four
    reworded word problems (near duplicates)."""
    bank = audit_findings(SAMPLE / "bank_intents.csv", 10**9)
    assert bank == audit_findings(SAMPLE / "bank_intents.csv", 2)
    assert {rows for code, _, rows in bank["labels"] if code == "LBL005"} == {(94,), (185,)}
    path, reworded = reworded_word_problems(tmp_path)
    math = audit_findings(path, 10**9)
    assert math == audit_findings(path, 2)
    assert {rows for code, _, rows in math["duplicates"] if code == "DUP002"} == reworded
