"""`--engine ray`: embed the inputs as a Ray Data `map_batches` over shards, then audit as usual.

The driver reads the inputs, finds the texts missing from the embedding cache and cuts them into
shards in the order the single process would embed them (each split's unique texts, shortest
first, shards a whole number of batches long), so every batch a Ray worker encodes is a batch the
single process would have encoded: the vectors, and so the findings, are the same. Workers run
the same model through the same `Embedder` and write the same content-addressed cache shards; the
checks then run in this process and find every vector cached. Ray connects to the cluster named by
RAY_ADDRESS, else starts a local instance. Needs the optional extra: pip install 'ftaudit[ray]'.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.errors import InputError

SPLIT_ORDER = ("train", "eval", "production")  # the order the checks first ask for each split's embeddings
BATCHES_PER_SHARD = 16


class ShardEmbedder:
    """A Ray Data actor: one Embedder (model loaded once per actor) writing into the shared cache."""

    def __init__(self, model: str, cache_dir: str, batch_size: int, backend: str) -> None:
        from auditor.embed import Embedder

        self.embedder = Embedder(model, Path(cache_dir), batch_size, quiet=True, backend=backend)

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        import numpy as np

        counts = []
        for texts in batch["texts"]:
            self.embedder.encode([str(t) for t in texts])
            counts.append(len(texts))
        return {"texts": np.array(counts, dtype=np.int64)}


def shards_to_embed(embedder: Any, texts: list[str], batch_size: int) -> list[list[str]]:
    """The split's texts missing from the cache, as the single process would batch them, cut into shards."""
    import numpy as np

    from auditor.embed import MAX_CHARS, text_key

    unique = list(dict.fromkeys(t[:MAX_CHARS] for t in texts))
    if not unique:
        return []
    keys = np.array([text_key(t) for t in unique], dtype="S64")
    _, found = embedder.cache.lookup(keys)
    missing = [unique[i] for i in np.flatnonzero(~found)]
    ordered = [missing[i] for i in np.argsort([len(t) for t in missing], kind="stable")]
    step = batch_size * BATCHES_PER_SHARD
    return [ordered[start : start + step] for start in range(0, len(ordered), step)]


def start_ray(quiet: bool) -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InputError("--engine ray needs Ray Data: pip install 'ftaudit[ray]'") from None
    if not ray.is_initialized():
        import logging

        ray.init(
            address=os.environ.get("RAY_ADDRESS"),
            include_dashboard=False,
            log_to_driver=not quiet,
            logging_level=logging.ERROR,
            configure_logging=True,
        )
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = not quiet
        context.print_on_execution_start = False
        if quiet:
            logging.getLogger("ray.data").setLevel(logging.ERROR)
    return ray


def embed_inputs(
    datasets: Mapping[str, Any], embedding: Mapping[str, Any], quiet: bool = True, workers: int = 0
) -> dict[str, Any]:
    """Embed every split's inputs into the cache on Ray; returns what was done (texts, shards, seconds)."""
    from auditor.embed import Embedder

    if not embedding["use_cache"]:
        raise InputError("--engine ray hands the vectors to the audit through the embedding cache; drop --no-cache")
    ray = start_ray(quiet)
    started = time.perf_counter()
    driver = Embedder(
        embedding["model"],
        Path(embedding["cache_dir"]),
        embedding["batch_size"],
        quiet=True,
        backend=embedding["backend"],
    )
    workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    done: dict[str, Any] = {"texts": 0, "shards": 0, "workers": workers}
    for split in SPLIT_ORDER:
        if split not in datasets:
            continue
        shards = shards_to_embed(driver, datasets[split].valid["input"].to_list(), embedding["batch_size"])
        if not shards:
            continue
        items = ray.data.from_items([{"texts": shard} for shard in shards], override_num_blocks=len(shards))
        embedded = items.map_batches(
            ShardEmbedder,
            batch_size=1,
            num_cpus=1,
            concurrency=min(workers, len(shards)),
            max_restarts=0,
            fn_constructor_kwargs={
                "model": embedding["model"],
                "cache_dir": str(embedding["cache_dir"]),
                "batch_size": embedding["batch_size"],
                "backend": embedding["backend"],
            },
        )
        done["texts"] += int(embedded.sum("texts"))
        done["shards"] += len(shards)
    done["seconds"] = round(time.perf_counter() - started, 3)
    return done


def prepare(
    train: str,
    production: str | None,
    eval_file: str | None,
    config_file: str | None,
    overrides: Mapping[str, Mapping[str, Any]],
    quiet: bool,
) -> dict[str, Any]:
    """Load the inputs as the audit will and embed them on Ray, so that the audit finds every vector cached."""
    from auditor.api import load_inputs, load_options
    from auditor.config import load_config

    config = load_config(config_file, overrides=overrides)
    datasets = load_inputs(train, production, eval_file, load_options(config))
    return embed_inputs(datasets, config.section("embedding"), quiet)
