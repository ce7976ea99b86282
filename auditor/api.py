"""The library entry point: `audit(train, production=..., eval=...)` returns a Report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.config import Config, load_config
from auditor.context import AuditContext
from auditor.errors import InputError
from auditor.formats import FORMATS, FieldMap
from auditor.load import Dataset, LoadOptions, load_dataset
from auditor.results import InputSummary, Report


def load_options(config: Config) -> LoadOptions:
    section = config.section("load")
    fmt = section["data_format"]
    if fmt != "auto" and fmt not in FORMATS:
        raise InputError(f"unknown data format '{fmt}'; expected auto or one of {', '.join(FORMATS)}")
    fields = FieldMap(section["input_field"] or None, section["output_field"] or None, section["label_field"] or None)
    return LoadOptions(
        fmt,
        fields,
        section["classification_max_distinct_ratio"],
        section["classification_max_label_words"],
        section["encoding"],
    )


def records_of(data: Any) -> list[Any] | None:
    """The records of in-memory data (a polars or pandas DataFrame, or a sequence of dicts); None for a path."""
    if isinstance(data, (str, Path)):
        return None
    if hasattr(data, "to_dicts"):  # polars
        return list(data.to_dicts())
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas: NaN and numpy scalars become plain values
        return [{k: _plain(v) for k, v in row.items()} for row in data.to_dict("records")]
    if isinstance(data, (list, tuple)) or hasattr(data, "__iter__"):
        return list(data)
    raise InputError(f"cannot audit a {type(data).__name__}: pass a path, a DataFrame or a list of records")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, dict, str)) else value


def load_any(data: Any, split: str, options: LoadOptions) -> Dataset:
    """A dataset from a path or from records in memory (`records_of`)."""
    from auditor.load import load_records

    records = records_of(data)
    return load_dataset(data, split, options) if records is None else load_records(records, split, options)


def load_inputs(train: Any, production: Any, eval: Any, options: LoadOptions) -> dict[str, Dataset]:
    datasets = {"train": load_any(train, "train", options)}
    if eval is not None:
        datasets["eval"] = load_any(eval, "eval", options)
    if production is not None:
        production_options = replace(options, data_format="auto", fields=FieldMap(options.fields.input))
        datasets["production"] = load_any(production, "production", production_options)
    return datasets


def summarise(dataset: Dataset) -> InputSummary:
    labels = len(dataset.labels()) if dataset.task == "classification" else None
    return InputSummary(
        str(dataset.path),
        dataset.sha256,
        dataset.format,
        dataset.task,
        dataset.rows_read,
        dataset.rows_valid,
        labels,
        dataset.fields,
    )


def audit(
    train: Any,
    production: Any = None,
    eval: Any = None,
    *,
    config: Config | str | Path | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    quiet: bool = True,
    only: Iterable[str] | None = None,
    embedder: Any = None,
) -> Report:
    """Audit a training set (optionally with production inputs and an eval split) and rule on it.

    Each of `train`, `production` and `eval` is a path (a file, a folder or glob of shards, or "-" for
    stdin), a polars or pandas DataFrame, or a list of dicts; in-memory records are parsed exactly as a
    file's records are, and record N is named as line N. `config` is a Config or the path of an
    ftaudit.toml (default: found from the working directory), `overrides` sections that win over it,
    `only` the ids of the checks to run, `quiet=False` a progress line per stage on stderr (when it is a
    terminal), `embedder` an object with `encode(texts)` to use instead of the configured model. Returns
    the `Report`; raises InputError when an input cannot be read at all, ConfigError for a bad config.

        >>> report = audit("train.jsonl", production="prod.txt")
        >>> report = audit(polars.read_parquet("train.parquet"))
        >>> report = audit([{"text": "Where is my parcel?", "label": "tracking"}, ...])
        >>> report.verdict.decision, report.verdict.readiness_score
    """
    import time

    from auditor.annotate import row_annotations
    from auditor.progress import stage_progress
    from auditor.redaction import Redactor
    from auditor.registry import REGISTRY
    from auditor.runner import run_checks
    from auditor.verdict import decide

    started = time.perf_counter()
    if not isinstance(config, Config):
        config = load_config(config, overrides=overrides)
    progress = stage_progress(quiet)
    if progress is not None:
        progress("load", None)
    try:
        datasets = load_inputs(train, production, eval, load_options(config))
    finally:
        if progress is not None:
            progress("load", "done")
    loaded = time.perf_counter()
    ctx = AuditContext(datasets, config, embedder, quiet=quiet)
    redactor = Redactor.for_config(config)  # the one chokepoint: every string below leaves the process redacted
    results = tuple(redactor.result(r) for r in run_checks(ctx, REGISTRY, only, progress))
    checked = time.perf_counter()
    verdict = redactor.value(decide(results, config.section("context"), config.section("verdict")))
    stats = ctx.get_embedder().stats
    embedding = stats.to_dict() if stats.texts else {"model": stats.model, "used": False}
    return Report(
        tool={"name": "ftaudit", "version": __version__},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        inputs={split: redactor.value(summarise(d)) for split, d in datasets.items()},
        verdict=verdict,
        checks=results,
        config=redactor.value(config.to_dict()),
        embedding=redactor.value(embedding),
        annotations=redactor.frame(row_annotations(datasets, results)),
        timings={
            "load_seconds": round(loaded - started, 3),
            "checks_seconds": round(checked - loaded, 3),
            "total_seconds": round(time.perf_counter() - started, 3),
        },
    )
