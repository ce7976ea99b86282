"""Great Expectations at the polars boundary: the frame is converted to pandas here and only here.

GX runs in an ephemeral context with analytics and progress bars off; it writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Expectation:
    key: str
    kind: str  # class name in great_expectations.expectations
    kwargs: Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    key: str
    success: bool
    lines: tuple[int, ...]
    unexpected: int
    error: str = ""


def run_suite(frame: Any, expectations: Sequence[Expectation], name: str = "ftaudit") -> list[Outcome]:
    """Validate a polars frame (it must have a `line` column) and return one outcome per expectation."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas(name).add_dataframe_asset(name="rows")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame.to_pandas()}
    )
    suite = gx.ExpectationSuite(name=f"{name}_suite")
    for expectation in expectations:
        suite.add_expectation(getattr(gxe, expectation.kind)(**expectation.kwargs, meta={"key": expectation.key}))
    result = batch.validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["line"]}
    )
    outcomes = []
    for item in result.results:
        expected = item.expectation_config
        if expected is None:
            continue
        key = str((expected.meta or {}).get("key", expected.type))
        info = item.exception_info or {}
        error = info.get("exception_message", "") if info.get("raised_exception") else ""
        found = item.result.get("unexpected_index_list") or []
        lines = tuple(sorted(int(entry["line"]) for entry in found if isinstance(entry, Mapping) and "line" in entry))
        outcomes.append(Outcome(key, bool(item.success), lines, int(item.result.get("unexpected_count") or 0), error))
    return outcomes
