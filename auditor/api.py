"""The library entry point: `audit(train, production=..., eval=...)` returns a Report."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from auditor import __version__
from auditor.config import Config, load_config
from auditor.context import AuditContext
from auditor.formats import FORMATS, FieldMap
from auditor.load import Dataset, LoadOptions, load_dataset
from auditor.results import InputSummary, Report
from auditor.errors import InputError


def load_options(config: Config) -> LoadOptions:
    section = config.section("load")
    fmt = section["data_format"]
    if fmt != "auto" and fmt not in FORMATS:
        raise InputError(f"unknown data format '{fmt}'; expected auto or one of {', '.join(FORMATS)}")
    fields = FieldMap(section["input_field"] or None, section["output_field"] or None, section["label_field"] or None)
    return LoadOptions(fmt, fields, section["classification_max_distinct_ratio"], section["classification_max_label_words"],
                       section["encoding"])


def load_inputs(train: str | Path, production: str | Path | None, eval: str | Path | None,
                options: LoadOptions) -> dict[str, Dataset]:
    datasets = {"train": load_dataset(train, "train", options)}
    if eval is not None:
        datasets["eval"] = load_dataset(eval, "eval", options)
    if production is not None:
        production_options = replace(options, data_format="auto", fields=FieldMap(options.fields.input))
        datasets["production"] = load_dataset(production, "production", production_options)
    return datasets


def summarise(dataset: Dataset) -> InputSummary:
    labels = len(dataset.labels()) if dataset.task == "classification" else None
    return InputSummary(str(dataset.path), dataset.sha256, dataset.format, dataset.task,
                        dataset.rows_read, dataset.rows_valid, labels, dataset.fields)


def audit(train: str | Path, production: str | Path | None = None, eval: str | Path | None = None, *,
          config: Config | str | Path | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None,
          quiet: bool = True, only: Iterable[str] | None = None, embedder: Any = None) -> Report:
    from auditor.annotate import annotations
    from auditor.redaction import Redactor
    from auditor.registry import REGISTRY
    from auditor.runner import run_checks
    from auditor.verdict import decide

    import time

    started = time.perf_counter()
    if not isinstance(config, Config):
        config = load_config(config, overrides=overrides)
    datasets = load_inputs(train, production, eval, load_options(config))
    loaded = time.perf_counter()
    ctx = AuditContext(datasets, config, embedder, quiet=quiet)
    redactor = Redactor.for_config(config)  # the one chokepoint: every string below leaves the process redacted
    results = tuple(redactor.result(r) for r in run_checks(ctx, REGISTRY, only))
    checked = time.perf_counter()
    verdict = redactor.value(decide(results, config.section("context"), config.section("verdict")))
    stats = ctx.get_embedder().stats
    embedding = stats.to_dict() if stats.texts else {"model": stats.model, "used": False}
    return Report(
        tool={"name": "ftaudit", "version": __version__},
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        inputs={split: redactor.value(summarise(d)) for split, d in datasets.items()},
        verdict=verdict,
        checks=results,
        config=redactor.value(config.to_dict()),
        embedding=redactor.value(embedding),
        annotations=redactor.frame(annotations(datasets, results)),
        timings={"load_seconds": round(loaded - started, 3), "checks_seconds": round(checked - loaded, 3),
                 "total_seconds": round(time.perf_counter() - started, 3)},
    )
