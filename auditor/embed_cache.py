"""The embedding cache: immutable, checksummed shards that concurrent audits can share safely.

Layout under the cache root (`--cache-dir`, `FTAUDIT_CACHE_DIR`, else the user cache folder):
  embeddings/<model>/shard-<name>/   keys.npy, vectors.npy, manifest.json: built in scratch space, renamed in whole
  embeddings/<model>/.lock           held (flock) by the one process that merges shards
  tmp/<pid>-<random>/ + .lock        one process's scratch space, locked while it lives, swept once its owner is gone
  damaged/                           shards that failed validation, set aside (the newest few kept)

A reader never sees a half-written shard (a shard appears by one directory rename) and never
trusts one: the manifest's row count, dimension and SHA-256 of both files are checked, and the
vectors it serves must be finite and unit-length. Anything else is set aside with one warning
line and its texts are embedded again. A shard is never modified in place, so a reader's
memory map can never be cut under it (merged shards are removed by rename, then deleted).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking, no merging, age-based sweeping only
    fcntl = None  # type: ignore[assignment]

FORMAT = 2
MAX_SHARDS = 16
NORM_TOLERANCE = 1e-3
KEEP_DAMAGED = 5
ORPHAN_SECONDS = 60.0
_WARNED: set[str] = set()


class Damaged(Exception):
    """A shard that fails validation."""


def warn(message: str) -> None:
    """One line on stderr, once per process and message."""
    if message not in _WARNED:
        _WARNED.add(message)
        print(f"ftaudit: warning: {message}", file=sys.stderr, flush=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _try_lock(fd: int) -> bool:
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


@dataclass
class Scratch:
    path: Path
    lock: IO[str]


_SCRATCH: dict[Path, Scratch] = {}


def sweep(tmp: Path) -> None:
    """Remove scratch folders whose owner process is gone (its lock is free) and stray leftovers."""
    try:
        entries = list(tmp.iterdir())
    except OSError:
        return
    locks = {e.name[: -len(".lock")] for e in entries if e.name.endswith(".lock")}
    for name in locks:
        lock_path = tmp / f"{name}.lock"
        try:
            fd = os.open(lock_path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _try_lock(fd):
                shutil.rmtree(tmp / name, ignore_errors=True)
                lock_path.unlink(missing_ok=True)
        finally:
            os.close(fd)
    now = time.time()
    for entry in entries:
        if entry.name.endswith(".lock") or entry.name in locks:
            continue
        try:
            if now - entry.lstat().st_mtime > ORPHAN_SECONDS:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        except OSError:
            continue


def scratch_dir(root: Path) -> Path:
    """This process's own temporary folder inside the cache: created on first use, removed at exit,
    swept by a later run if the process is killed. Raises OSError when the cache cannot be written."""
    root = Path(os.path.abspath(root))
    if root in _SCRATCH and _SCRATCH[root].path.is_dir():
        return _SCRATCH[root].path
    tmp = root / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# ftaudit cache: nothing here belongs in version control\n*\n", encoding="utf-8")
    sweep(tmp)
    while True:
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        lock_path = tmp / f"{name}.lock"
        fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        handle = os.fdopen(fd, "w")
        claimed = _try_lock(fd) or fcntl is None
        try:
            claimed = claimed and os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            claimed = False
        if claimed:
            break
        handle.close()
    path = tmp / name
    path.mkdir()
    _SCRATCH[root] = Scratch(path, handle)
    return path


def release_scratch() -> None:
    """Remove every scratch folder of this process (at exit, and on an interrupt)."""
    for root, scratch in list(_SCRATCH.items()):
        shutil.rmtree(scratch.path, ignore_errors=True)
        lock_path = scratch.path.with_name(scratch.path.name + ".lock")
        lock_path.unlink(missing_ok=True)
        scratch.lock.close()
        del _SCRATCH[root]


atexit.register(release_scratch)


@dataclass(frozen=True)
class Shard:
    path: Path
    rows: int
    dim: int
    keys_sha256: str
    vectors_sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def read_manifest(path: Path) -> Shard:
    """The shard's manifest; FileNotFoundError when the shard is gone, Damaged when it is unreadable."""
    try:
        text = (path / "manifest.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        if not path.exists():
            raise
        raise Damaged("no manifest") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Damaged(f"manifest unreadable: {exc}") from None
    try:
        data = json.loads(text)
        shard = Shard(path, int(data["rows"]), int(data["dim"]), str(data["keys_sha256"]), str(data["vectors_sha256"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise Damaged(f"manifest invalid: {type(exc).__name__}") from None
    if data.get("format") != FORMAT or shard.rows < 1 or shard.dim < 1:
        raise Damaged("manifest invalid: bad format, row count or dimension")
    return shard


def load_keys(shard: Shard) -> np.ndarray:
    path = shard.path / "keys.npy"
    try:
        if file_sha256(path) != shard.keys_sha256:
            raise Damaged("keys checksum mismatch")
        keys = np.load(path, allow_pickle=False)
    except (FileNotFoundError, Damaged):
        raise
    except Exception as exc:
        raise Damaged(f"keys unreadable: {type(exc).__name__}") from None
    if keys.dtype != np.dtype("S64") or keys.shape != (shard.rows,):
        raise Damaged(f"keys have dtype {keys.dtype} and shape {keys.shape}, expected S64 and ({shard.rows},)")
    return keys


def load_vectors(shard: Shard) -> np.ndarray:
    path = shard.path / "vectors.npy"
    try:
        if file_sha256(path) != shard.vectors_sha256:
            raise Damaged("vectors checksum mismatch")
        vectors = np.load(path, mmap_mode="r", allow_pickle=False)
    except (FileNotFoundError, Damaged):
        raise
    except Exception as exc:
        raise Damaged(f"vectors unreadable: {type(exc).__name__}") from None
    if vectors.dtype != np.float32 or vectors.shape != (shard.rows, shard.dim):
        raise Damaged(
            f"vectors have dtype {vectors.dtype} and shape {vectors.shape}, "
            f"expected float32 and ({shard.rows}, {shard.dim})"
        )
    return vectors


def valid_vectors(vectors: np.ndarray) -> str:
    """Why these vectors cannot be embeddings ('' when they can): finite, unit-length, non-empty."""
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        return f"shape {vectors.shape}"
    if not np.isfinite(vectors).all():
        return "non-finite values"
    norms = np.linalg.norm(vectors, axis=1)
    if len(norms) and np.abs(norms - 1).max() > NORM_TOLERANCE:
        return f"norms from {norms.min():.3g} to {norms.max():.3g}, not 1"
    return ""


@dataclass
class EmbeddingCache:
    """Shards of one model's vectors under `root/embeddings/<model>/`."""

    root: Path
    model: str
    damaged: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.root / "embeddings" / self.model

    def shards(self) -> list[Path]:
        try:
            return sorted(p for p in self.folder.glob("shard-*") if p.is_dir())
        except OSError:
            return []

    def set_aside(self, path: Path, reason: str) -> None:
        self.damaged.append(f"{path.name}: {reason}")
        target = self.root / "damaged" / f"{path.name}-{int(time.time())}-{secrets.token_hex(2)}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, target)
            kept = sorted(target.parent.iterdir(), key=lambda p: p.stat().st_mtime)
            for old in kept[:-KEEP_DAMAGED]:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass  # already moved by another process, or the cache is read-only: it is skipped either way
        warn(f"embedding cache shard {path} is damaged ({reason}); set aside, its texts are embedded again")

    def _manifests(self, names: set[str]) -> list[Shard]:
        found = []
        for path in self.shards():
            if path.name in names:
                continue
            names.add(path.name)
            try:
                found.append(read_manifest(path))
            except FileNotFoundError:
                continue
            except Damaged as exc:
                self.set_aside(path, str(exc))
        return found

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """Vectors for `keys` (rows of zeros where missing) and a boolean mask of hits."""
        found = np.zeros(len(keys), dtype=bool)
        vectors: np.ndarray | None = None
        wanted = {k: i for i, k in enumerate(keys.tolist())}
        seen: set[str] = set()
        for _ in range(4):  # a shard merged away while we read: list again, its rows are in the merged one
            shards = self._manifests(seen)
            if not shards:
                break
            dims: dict[int, int] = {}
            for shard in shards:
                dims[shard.dim] = dims.get(shard.dim, 0) + shard.rows
            dim = vectors.shape[1] if vectors is not None else max(dims, key=lambda d: dims[d])
            vanished = False
            for shard in shards:
                if found.all():
                    break
                try:
                    if shard.dim != dim:
                        raise Damaged(f"dimension {shard.dim}, the other shards have {dim}")
                    shard_keys = load_keys(shard)
                    hits = [
                        (wanted[k], j)
                        for j, k in enumerate(shard_keys.tolist())
                        if k in wanted and not found[wanted[k]]
                    ]
                    if not hits:
                        continue
                    rows, sources = (np.array(side) for side in zip(*hits))
                    order = np.argsort(sources)
                    chosen = np.asarray(load_vectors(shard)[sources[order]], dtype=np.float32)
                    problem = valid_vectors(chosen)
                    if problem:
                        raise Damaged(problem)
                except FileNotFoundError:
                    vanished = True
                    continue
                except Damaged as exc:
                    self.set_aside(shard.path, str(exc))
                    continue
                if vectors is None:
                    vectors = np.zeros((len(keys), dim), dtype=np.float32)
                vectors[rows[order]] = chosen
                found[rows] = True
            if not vanished:
                break
        return vectors, found

    def store(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Add a shard; merge when there are too many. Raises OSError when the cache cannot be written."""
        if not len(keys):
            return
        problem = valid_vectors(vectors)
        if problem or len(keys) != len(vectors):
            raise ValueError(f"refusing to cache invalid embeddings ({problem or 'row count mismatch'})")
        scratch = scratch_dir(self.root)
        self.folder.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(dir=scratch, prefix="shard-"))
        np.save(build / "keys.npy", np.asarray(keys, dtype="S64"), allow_pickle=False)
        np.save(build / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        self._publish(build, len(keys), vectors.shape[1])
        if len(self.shards()) > MAX_SHARDS:
            self.compact()

    def _publish(self, build: Path, rows: int, dim: int) -> Path:
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "rows": rows,
            "dim": dim,
            "keys_sha256": file_sha256(build / "keys.npy"),
            "vectors_sha256": file_sha256(build / "vectors.npy"),
        }
        (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        target = self.folder / f"shard-{manifest['keys_sha256'][:24]}"
        try:
            os.rename(build, target)
        except OSError:
            if not target.is_dir():
                shutil.rmtree(build, ignore_errors=True)
                raise
            shutil.rmtree(build, ignore_errors=True)  # the same keys were published by another process
        return target

    def compact(self) -> None:
        """Merge every shard into one, a shard at a time, by the one process holding the folder's lock."""
        if fcntl is None:
            return
        lock = os.open(self.folder / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            if not _try_lock(lock):
                return  # another process is merging
            self._merge()
        finally:
            os.close(lock)

    def _merge(self) -> None:
        for legacy in self.folder.glob("shard-*.npy"):  # format 1 files (unchecked): never read, removed here
            legacy.unlink(missing_ok=True)
        seen: set[bytes] = set()
        parts: list[tuple[Shard, np.ndarray, np.ndarray]] = []
        names: set[str] = set()
        shards = self._manifests(names)
        if len(shards) < 2:
            return
        dims: dict[int, int] = {}
        for shard in shards:
            dims[shard.dim] = dims.get(shard.dim, 0) + shard.rows
        dim = max(dims, key=lambda d: dims[d])
        for shard in shards:
            try:
                if shard.dim != dim:
                    raise Damaged(f"dimension {shard.dim}, the other shards have {dim}")
                keys = load_keys(shard)
            except FileNotFoundError:
                continue
            except Damaged as exc:
                self.set_aside(shard.path, str(exc))
                continue
            keep = np.array([k not in seen for k in keys.tolist()], dtype=bool)
            seen.update(keys[keep].tolist())
            parts.append((shard, keys, keep))
        if len(parts) < 2:
            return
        build = Path(tempfile.mkdtemp(dir=scratch_dir(self.root), prefix="merge-"))
        merged = np.lib.format.open_memmap(build / "vectors.npy", mode="w+", dtype=np.float32, shape=(len(seen), dim))
        kept_keys, at, merged_shards = [], 0, []
        for shard, keys, keep in parts:
            try:
                source = load_vectors(shard)
                chosen = np.asarray(source[keep], dtype=np.float32)
                problem = valid_vectors(chosen) if len(chosen) else ""
                if problem:
                    raise Damaged(problem)
            except FileNotFoundError:
                continue
            except Damaged as exc:
                self.set_aside(shard.path, str(exc))
                continue
            merged[at : at + len(chosen)] = chosen
            kept_keys.append(keys[keep])
            at += len(chosen)
            merged_shards.append(shard)
        merged.flush()
        del merged
        if at < len(seen):  # a shard vanished or was damaged: write only what was merged
            full = np.load(build / "vectors.npy", mmap_mode="r")
            np.save(build / "part.npy", np.asarray(full[:at]), allow_pickle=False)
            del full
            os.replace(build / "part.npy", build / "vectors.npy")
        if at == 0:
            shutil.rmtree(build, ignore_errors=True)
            return
        np.save(build / "keys.npy", np.concatenate(kept_keys), allow_pickle=False)
        target = self._publish(build, at, dim)
        gone = scratch_dir(self.root)
        for shard in merged_shards:
            if shard.path != target:
                try:
                    os.rename(shard.path, gone / f"gone-{shard.name}")
                except OSError:
                    continue
                shutil.rmtree(gone / f"gone-{shard.name}", ignore_errors=True)


def describe(root: Path) -> dict[str, Any]:
    """Counts for tests and the soak benchmark: shards, temp leftovers, damaged shards."""
    tmp = root / "tmp"
    return {
        "shards": sum(1 for p in (root / "embeddings").glob("*/shard-*") if p.is_dir()),
        "tmp_entries": sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else [],
        "damaged": sorted(p.name for p in (root / "damaged").iterdir()) if (root / "damaged").is_dir() else [],
    }
