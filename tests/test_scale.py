"""Scale: the learning curve's sample cap and the Ray engine (same vectors and findings as one process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from auditor.api import load_inputs, load_options
from auditor.confident import ModelParams, learning_curve, out_of_fold_probabilities
from auditor.config import load_config
from auditor.embed import Embedder
from tests.conftest import ROOT, SAMPLE


def separable(n: int, classes: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, 32))
    labels = rng.integers(0, classes, n)
    vectors = centres[labels] + rng.normal(scale=1.2, size=(n, 32))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), labels


def test_learning_curve_cap_samples_only_past_it() -> None:
    vectors, labels = separable(1200)
    groups = np.arange(1200)
    params = ModelParams(neighbours=10, folds=5)
    full = out_of_fold_probabilities(vectors, labels, groups, 8, params)
    plain = learning_curve(vectors, labels, groups, 8, params, [0.5, 1.0], full=full)
    assert learning_curve(vectors, labels, groups, 8, params, [0.5, 1.0], full=full, max_groups=5000) == plain
    capped = learning_curve(vectors, labels, groups, 8, params, [0.5, 1.0], full=full, max_groups=300)
    assert list(capped) == ["0.5", "1.0"] and all(0 <= v <= 1 for v in capped.values())
    assert capped["1.0"] != plain["1.0"]  # refitted on the 300-group sample, not read from the full fit


def audit_json(train: Path, cache: Path, *extra: str) -> dict:
    out = cache.parent / f"{cache.name}.json"
    env = {
        **os.environ,
        "FTAUDIT_CACHE_DIR": str(cache),
        "FTAUDIT_ONNX_DIR": str(ROOT / ".ftaudit-cache" / "onnx"),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "auditor", "audit", str(train), "-q", "--format", "json", "-o", str(out), *extra]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cache.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


def test_ray_engine_gives_the_same_vectors_and_findings(tmp_path: Path) -> None:
    pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'ftaudit[ray]')")
    train = SAMPLE / "support_train.jsonl"
    local = audit_json(train, tmp_path / "local")
    ray = audit_json(train, tmp_path / "ray", "--engine", "ray")
    assert ray["embedding"]["computed"] == 0 and ray["embedding"]["cached"] == local["embedding"]["computed"] > 100
    findings = [[(c["id"], f["code"], f["message"], f["rows"]) for f in c["findings"]] for c in local["checks"]]
    assert findings == [[(c["id"], f["code"], f["message"], f["rows"]) for f in c["findings"]] for c in ray["checks"]]
    assert local["verdict"] == ray["verdict"]
    texts = load_inputs(train, None, None, load_options(load_config()))["train"].valid["input"].to_list()
    embedders = [Embedder(cache_dir=tmp_path / name, quiet=True) for name in ("local", "ray")]
    vectors = [embedder.encode(texts) for embedder in embedders]
    assert all(embedder.stats.computed == 0 for embedder in embedders)
    assert np.array_equal(vectors[0], vectors[1])
