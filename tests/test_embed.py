from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from auditor.embed import Embedder, model_identity
from auditor.errors import InputError
from tests.conftest import ROOT

TEXTS = [
    "I am still waiting on my card?",
    "My card has not arrived yet, what should I do?",
    "How do I reset my online banking password?",
    "What is the exchange rate for euros today?",
    "I am still waiting on my card?",
]


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, Embedder]:
    cache = tmp_path_factory.mktemp("cache")
    embedder = Embedder(cache_dir=cache, quiet=True)
    return cache, embedder.encode(TEXTS), embedder


def test_vectors_are_normalised_and_meaningful(warm_cache: tuple[Path, np.ndarray, Embedder]) -> None:
    _, vectors, embedder = warm_cache
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.6 > sims[0, 3]
    assert np.allclose(vectors[0], vectors[4])
    assert embedder.stats.computed == 4 and embedder.stats.cached == 0


def test_second_run_is_served_from_cache_without_the_model(warm_cache: tuple[Path, np.ndarray, Embedder]) -> None:
    cache, vectors, _ = warm_cache
    again = Embedder(cache_dir=cache, quiet=True)
    assert np.array_equal(again.encode(list(reversed(TEXTS))), vectors[::-1])
    assert again.stats.cached == 4 and again.stats.computed == 0 and again._model is None
    shards = [s for s in cache.rglob("shard-*") if s.is_dir()]
    assert shards and all(np.load(s / "keys.npy", allow_pickle=False).dtype.kind == "S" for s in shards)
    assert all((s / "vectors.npy").is_file() and (s / "manifest.json").is_file() for s in shards)


def test_cache_compaction_keeps_every_vector(tmp_path: Path) -> None:
    from auditor.embed import MAX_SHARDS

    embedder = Embedder(cache_dir=tmp_path, quiet=True)
    texts = [f"parcel number {i} is late" for i in range(MAX_SHARDS + 3)]
    first = [embedder.encode([t])[0] for t in texts]
    assert len([s for s in tmp_path.rglob("shard-*") if s.is_dir()]) <= MAX_SHARDS
    again = Embedder(cache_dir=tmp_path, quiet=True)
    assert np.allclose(again.encode(texts), np.stack(first)) and again.stats.computed == 0


def test_warm_cache_never_imports_torch(warm_cache: tuple[Path, np.ndarray, Embedder]) -> None:
    cache = warm_cache[0]
    code = (
        "import sys; from auditor.embed import Embedder; "
        f"e = Embedder(cache_dir={str(cache)!r}, quiet=True); v = e.encode({TEXTS!r}); "
        "print(v.shape[0], 'torch' in sys.modules, 'sentence_transformers' in sys.modules, "
        "'onnxruntime' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.split() == ["5", "False", "False", "False"], out.stderr


def test_onnx_and_torch_backends_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FTAUDIT_ONNX_DIR")
    onnx = Embedder(cache_dir=tmp_path, quiet=True, backend="onnx")
    torch = Embedder(cache_dir=None, quiet=True, backend="torch")
    a, b = onnx.encode(TEXTS + [t * 30 for t in TEXTS]), torch.encode(TEXTS + [t * 30 for t in TEXTS])
    assert onnx.stats.backend == "onnx" and torch.stats.backend == "torch"
    assert float((a * b).sum(axis=1).min()) > 0.9999
    assert list(tmp_path.rglob("model.onnx")), "the export is kept in the cache folder"
    warm = Embedder(cache_dir=tmp_path, quiet=True, backend="onnx")
    warm.encode(["a text that is not cached yet"])
    assert warm.stats.backend == "onnx" and warm.stats.model_load_seconds < onnx.stats.model_load_seconds


def test_no_cache_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a cache the ONNX export goes to a temporary folder that is gone once the model is loaded."""
    import tempfile

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FTAUDIT_ONNX_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    embedder = Embedder(cache_dir=None, quiet=True)
    vectors = embedder.encode(TEXTS[:2])
    assert vectors.shape == (2, 384) and embedder.stats.backend == "onnx"
    assert [p.name for p in tmp_path.iterdir()] == ["tmp"] and list((tmp_path / "tmp").iterdir()) == []


def test_identity_changes_with_the_model(tmp_path: Path) -> None:
    assert model_identity("")[0] == "all-MiniLM-L6-v2"
    (tmp_path / "config.json").write_text("{}")
    assert model_identity(str(tmp_path))[1] != model_identity("")[1]


def test_unloadable_model_is_one_line_input_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InputError, match="could not be loaded offline") as info:
        Embedder(model=str(tmp_path), cache_dir=None, quiet=True).encode(["hello"])
    assert "\n" not in str(info.value)
