"""What every check reads: the loaded datasets, the validated config, and shared derived data.

Expensive things (embeddings, exact-duplicate keys) are computed lazily, once, and shared.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from auditor.config import Config
from auditor.load import Dataset
from auditor.text import normalize


@dataclass
class AuditContext:
    datasets: Mapping[str, Dataset]
    config: Config
    embedder: Any = None  # auditor.embed.Embedder, created by the caller so tests can swap it
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def train(self) -> Dataset:
        return self.datasets["train"]

    def dataset(self, split: str) -> Dataset | None:
        return self.datasets.get(split)

    def _memoised(self, kind: str, split: str, compute: Any) -> Any:
        key = (kind, split)
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def embeddings(self, split: str = "train") -> Any:
        """Normalised vectors of the valid rows' inputs, in row order (numpy float32)."""
        if self.embedder is None:
            from auditor.embed import Embedder

            section = self.config.section("embedding")
            self.embedder = Embedder(model=section["model"], cache_dir=section["cache_dir"] if section["use_cache"] else None,
                                     batch_size=section["batch_size"])
        dataset = self.datasets[split]
        return self._memoised("embeddings", split, lambda: self.embedder.encode(dataset.valid["input"].to_list()))

    def exact_keys(self, split: str = "train") -> list[str]:
        """One normalised key per valid row: input, and output when the split has one."""
        def compute() -> list[str]:
            valid = self.datasets[split].valid
            inputs = [normalize(t) for t in valid["input"].to_list()]
            if split == "production":
                return inputs
            outputs = [normalize(t) for t in valid["output"].to_list()]
            return [f"{i}\x1f{o}" for i, o in zip(inputs, outputs)]

        return self._memoised("exact_keys", split, compute)

    def exact_groups(self, split: str = "train") -> dict[int, int]:
        """line -> group id (the group's first line) for every valid row that has an exact duplicate."""
        def compute() -> dict[int, int]:
            lines = self.datasets[split].valid["line"].to_list()
            first: dict[str, int] = {}
            members: dict[str, list[int]] = {}
            for line, key in zip(lines, self.exact_keys(split)):
                first.setdefault(key, line)
                members.setdefault(key, []).append(line)
            return {line: first[key] for key, group in members.items() if len(group) > 1 for line in group}

        return self._memoised("exact_groups", split, compute)
