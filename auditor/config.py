"""Configuration: every threshold has a default here or in its check's DEFAULTS; unknown keys are errors.

Looked up in this order: `--config FILE`, else the nearest `ftaudit.toml`, else the nearest
`pyproject.toml` with a `[tool.ftaudit]` table, searching from the working directory upwards.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.config_ranges import check_range
from auditor.errors import ConfigError
from auditor.io import default_cache_dir
from auditor.registry import REGISTRY
from auditor.verdict import DECISIONS, POLICY_DEFAULTS

CONTEXT_KEYS: dict[str, type] = {
    "monthly_volume": int,
    "requirements_change_within_3_months": bool,
    "prompt_baseline_accuracy": float,
    "target_accuracy": float,
    "consistency_critical": bool,
    "still_experimenting": bool,
    "current_prompt_tokens": int,
}

CORE_DEFAULTS: dict[str, dict[str, Any]] = {
    "load": {
        "data_format": "auto",
        "input_field": "",
        "output_field": "",
        "label_field": "",
        "encoding": "",
        "classification_max_distinct_ratio": 1 / 3,
        "classification_max_label_words": 5,
    },
    "embedding": {
        "model": "",
        "cache_dir": default_cache_dir(),  # FTAUDIT_CACHE_DIR, else the user cache folder
        "use_cache": True,
        "batch_size": 64,
        "backend": "onnx",
    },
    "neighbours": {
        "k": 10,
        "min_pair_similarity": 0.80,
        "ann_from": 50_000,
    },
    "verdict": dict(POLICY_DEFAULTS),
    "gate": {
        "min_decision": "pilot",
        "full_diagnostics": False,
        "train": [],
        "production": "",
        "eval": "",
    },
    "context": {},
}


@dataclass(frozen=True)
class Config:
    values: Mapping[str, Mapping[str, Any]]
    source: str = "defaults"
    overridden: tuple[str, ...] = field(default=())

    def section(self, name: str) -> Mapping[str, Any]:
        return self.values.get(name, {})

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "values": {k: dict(v) for k, v in self.values.items()}}


def all_defaults() -> dict[str, dict[str, Any]]:
    defaults = copy.deepcopy(CORE_DEFAULTS)
    defaults["embedding"]["cache_dir"] = os.environ.get("FTAUDIT_CACHE_DIR", defaults["embedding"]["cache_dir"])
    for check_id, check in REGISTRY.items():
        defaults[check_id] = copy.deepcopy(dict(check.DEFAULTS))
    return defaults


def find_config(start: Path) -> tuple[Path, Mapping[str, Any]] | None:
    for folder in (start, *start.parents):
        candidate = folder / "ftaudit.toml"
        if candidate.is_file():
            return candidate, _read_toml(candidate)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _read_toml(pyproject).get("tool", {}).get("ftaudit")
            if table is not None:
                return pyproject, table
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None


def _coerce(where: str, key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif isinstance(default, str) and isinstance(value, str):
        return value
    elif isinstance(default, list) and isinstance(value, list):
        return value
    elif isinstance(default, dict) and isinstance(value, dict):
        return value
    raise ConfigError(f"{where}: '{key}' must be {type(default).__name__}, got {type(value).__name__} {value!r}")


def context_value(where: str, key: str, value: Any) -> Any:
    """A validated context value: accuracies may be given as 0.72 or 72 (percent)."""
    kind = CONTEXT_KEYS.get(key)
    if kind is None:
        raise ConfigError(f"{where}: unknown config key 'context.{key}' (known: {', '.join(sorted(CONTEXT_KEYS))})")
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100:
        return value / 100 if value > 1 else float(value)
    expected = {bool: "true or false", int: "a whole number ≥ 0", float: "an accuracy between 0 and 1 (or 0–100)"}[kind]
    raise ConfigError(f"{where}: 'context.{key}' must be {expected}, got {value!r}")


def merge(defaults: dict[str, dict[str, Any]], table: Mapping[str, Any], where: str) -> dict[str, dict[str, Any]]:
    merged = copy.deepcopy(defaults)
    for section, values in table.items():
        if section not in merged:
            raise ConfigError(f"{where}: unknown config section '{section}' (known: {', '.join(sorted(merged))})")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{where}: '{section}' must be a table")
        if section == "context":
            merged[section].update({key: context_value(where, key, value) for key, value in values.items()})
            continue
        for key, value in values.items():
            if key not in merged[section]:
                known = ", ".join(sorted(merged[section])) or "none"
                raise ConfigError(f"{where}: unknown config key '{section}.{key}' (known: {known})")
            merged[section][key] = _coerce(where, f"{section}.{key}", value, merged[section][key])
            check_range(where, f"{section}.{key}", merged[section][key])
    return merged


def load_config(
    path: str | Path | None = None, cwd: Path | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> Config:
    defaults = all_defaults()
    source = "defaults"
    table: Mapping[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file")
        data = _read_toml(path)
        table = data.get("tool", {}).get("ftaudit", {}) if path.name == "pyproject.toml" else data
        source = str(path)
    else:
        found = find_config(cwd or Path.cwd())
        if found:
            source, table = str(found[0]), found[1]
    values = merge(defaults, table, source)
    if overrides:
        values = merge(values, overrides, "command line")
    if values["gate"]["min_decision"] not in DECISIONS[1:]:
        raise ConfigError(f"{source}: 'gate.min_decision' must be one of {', '.join(DECISIONS[1:])}")
    return Config(values, source)
