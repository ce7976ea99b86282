"""What every check reads: the loaded datasets, the validated config, and shared derived data.

Expensive things (embeddings, the neighbour graph, duplicate groups) are computed lazily, once,
and shared by every check that asks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.config import Config
from auditor.load import Dataset
from auditor.text import normalize


@dataclass(frozen=True)
class Representatives:
    """One row per distinct normalised input: `rows` are row positions, `of_row` maps each row to its representative."""

    rows: list[int]
    of_row: list[int]


@dataclass
class AuditContext:
    datasets: Mapping[str, Dataset]
    config: Config
    embedder: Any = None  # auditor.embed.Embedder; tests may pass their own
    quiet: bool = True
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def train(self) -> Dataset:
        return self.datasets["train"]

    def dataset(self, split: str) -> Dataset | None:
        return self.datasets.get(split)

    def _memoised(self, kind: str, split: str, compute: Callable[[], Any]) -> Any:
        key = (kind, split)
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def memo(self, kind: str, split: str, compute: Callable[[], Any]) -> Any:
        """Anything a check derives once per run and shares (e.g. "token_plan": the tokens check's plan, read by
        size)."""
        return self._memoised(kind, split, compute)

    def get_embedder(self) -> Any:
        """The run's embedder, made from the [embedding] config on first use (cheap: no model is loaded)."""
        if self.embedder is None:
            from pathlib import Path

            from auditor.embed import Embedder

            section = self.config.section("embedding")
            from auditor.io import default_cache_dir

            cache = Path(section["cache_dir"] or default_cache_dir()) if section["use_cache"] else None
            self.embedder = Embedder(
                section["model"], cache, section["batch_size"], quiet=self.quiet, backend=section["backend"]
            )
        return self.embedder

    def varying(self, split: str = "train") -> Any:
        """`auditor.varying.Varying`: each valid row's input without the long blocks it shares with many rows
        (a tool description, an Alpaca instruction); other splits also set aside blocks shared with training."""

        def compute() -> Any:
            from auditor.varying import shared_params, varying_texts

            texts = self.datasets[split].valid["input"].to_list()
            reference = self.datasets["train"].valid["input"].to_list() if split != "train" else []
            return varying_texts(texts, shared_params(self.config.section("duplicates")), reference)

        return self._memoised("varying", split, compute)

    def embeddings(self, split: str = "train") -> Any:
        """Normalised vectors of the valid rows' varying inputs (`varying`), in row order (numpy float32)."""
        return self._memoised("embeddings", split, lambda: self.get_embedder().encode(self.varying(split).texts))

    def sample_rows(self, split: str, size: int, seed: int) -> Any:
        """Sorted positions of a seeded uniform sample of `size` valid rows (every row when there are no more)."""

        def compute() -> Any:
            import numpy as np

            n = self.datasets[split].rows_valid
            return np.arange(n) if n <= size else np.sort(np.random.default_rng(seed).choice(n, size, replace=False))

        return self._memoised(f"sample_rows:{size}:{seed}", split, compute)

    def sample_embeddings(self, split: str, size: int, seed: int) -> Any:
        """Embeddings of the `sample_rows` only: a large split is sampled before anything is embedded
        (its varying inputs are found among the sample); a slice when the whole split is already embedded."""

        def compute() -> Any:
            rows = self.sample_rows(split, size, seed)
            if ("embeddings", split) in self._memo or len(rows) == self.datasets[split].rows_valid:
                return self.embeddings(split)[rows]
            from auditor.varying import shared_params, varying_texts

            texts = self.datasets[split].valid["input"].gather(rows).to_list()
            reference = self.datasets["train"].valid["input"].to_list() if split != "train" else []
            found = varying_texts(texts, shared_params(self.config.section("duplicates")), reference)
            return self.get_embedder().encode(found.texts)

        return self._memoised(f"sample_embeddings:{size}:{seed}", split, compute)

    def input_keys(self, split: str = "train") -> list[str]:
        """The normalised input of every valid row (NFKC, case-folded, spaces collapsed, edges trimmed)."""
        return self._memoised(
            "input_keys", split, lambda: [normalize(t) for t in self.datasets[split].valid["input"].to_list()]
        )

    def output_keys(self, split: str = "train") -> list[str]:
        return self._memoised(
            "output_keys", split, lambda: [normalize(t) for t in self.datasets[split].valid["output"].to_list()]
        )

    def representatives(self, split: str = "train") -> Representatives:
        def compute() -> Representatives:
            first: dict[str, int] = {}
            of_row = [first.setdefault(key, row) for row, key in enumerate(self.input_keys(split))]
            return Representatives(sorted(first.values()), of_row)

        return self._memoised("representatives", split, compute)

    def representative_vectors(self, split: str = "train") -> Any:
        """Embeddings of the representatives only: the same array when no input repeats, else a
        short-lived copy (not memoised, so it is freed once the graph and the groups are built)."""
        rows = self.representatives(split).rows
        vectors = self.embeddings(split)
        return vectors if len(rows) == len(vectors) else vectors[rows]

    def exact_groups(self, split: str = "train") -> dict[int, int]:
        """line -> group id (the group's first line) for every valid row whose normalised input repeats."""

        def compute() -> dict[int, int]:
            lines = self.datasets[split].valid["line"].to_list()
            reps = self.representatives(split).of_row
            sizes: dict[int, int] = {}
            for rep in reps:
                sizes[rep] = sizes.get(rep, 0) + 1
            return {lines[row]: lines[rep] for row, rep in enumerate(reps) if sizes[rep] > 1}

        return self._memoised("exact_groups", split, compute)

    def neighbour_graph(self, split: str = "train") -> Any:
        """k nearest neighbours and close pairs among the split's representatives (indices into `rows`)."""

        def compute() -> Any:
            from auditor.neighbors import neighbour_graph

            section = self.config.section("neighbours")
            return neighbour_graph(
                self.representative_vectors(split), section["k"], section["min_pair_similarity"], section["ann_from"]
            )

        return self._memoised("neighbour_graph", split, compute)

    def near_params(self) -> Any:
        """The near-duplicate parameters (`[duplicates]` and `[neighbours]`), read here and nowhere else."""

        def compute() -> Any:
            from auditor.dedup import near_params

            return near_params(self.config.section("duplicates"))

        return self._memoised("near_params", "", compute)

    def pair_similarity(self) -> float:
        """Cosine at or above which two inputs are candidate near duplicates (`neighbours.min_pair_similarity`)."""
        return float(self.config.section("neighbours")["min_pair_similarity"])

    @property
    def decision_context(self) -> Mapping[str, Any]:
        """The `[context]` section (volume, prompt tokens...), for checks that quote cost: passed explicitly."""
        return self.config.section("context")

    def near_groups(self, split: str = "train") -> Any:
        """`NearResult` over representatives plus `group_of_row`: row position -> its group's kept row (the centre
        every member was confirmed against; the row itself when it has no near duplicate)."""

        def compute() -> Any:
            from auditor.dedup import near_duplicates

            reps = self.representatives(split)
            graph = self.neighbour_graph(split)
            texts = self.datasets[split].valid["input"].to_list()
            vectors = self.representative_vectors(split)
            varying = self.varying(split).texts
            result = near_duplicates(
                [varying[r] for r in reps.rows],
                vectors,
                (graph.pair_i, graph.pair_j),
                self.near_params(),
                full=[texts[r] for r in reps.rows],
            )
            position = {row: k for k, row in enumerate(reps.rows)}
            group_of_row = [reps.rows[result.group[position[rep]]] for rep in reps.of_row]
            return result, group_of_row

        return self._memoised("near_groups", split, compute)
