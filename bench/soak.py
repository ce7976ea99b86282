"""Soak: concurrent audits of different files on ONE embedding cache, with random kill -9.

Each worker runs `ftaudit audit` (a fresh process, as CI and pre-commit would) on a file of its
own or another worker's, all on one cache; a share of the runs is killed with SIGKILL at a random
moment. Every run that finishes is compared with a no-cache reference (decision and every finding's
code and lines). At the end one more audit per file on the same cache checks the cache is usable,
and the cache's tmp folder and the output folders are checked for leftover temporary files.

    python -m bench.soak [--workers 8] [--rounds 3] [--kill-share 0.3] [--rows 120]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "support_train.jsonl"
BANKING = ROOT.parent / "shared" / "data" / "banking77" / "train.csv"
FAST = "[format]\nuse_great_expectations = false\n[labels]\nlearning_curve_fractions = []\n"


def make_files(folder: Path, count: int, rows: int) -> list[Path]:
    """Different slices: chat rows of the sample set and, when present, Banking77 CSV slices."""
    chat = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    banking = BANKING.read_text(encoding="utf-8").splitlines(keepends=True) if BANKING.is_file() else []
    files = []
    for i in range(count):
        if banking and i % 2:
            start = 1 + (i * 997) % max(1, len(banking) - rows)
            path = folder / f"banking-{i}.csv"
            path.write_text(banking[0] + "".join(banking[start : start + rows]), encoding="utf-8")
        else:
            start = (i * 37) % max(1, len(chat) - rows)
            path = folder / f"chat-{i}.jsonl"
            path.write_text("".join(chat[start : start + rows]), encoding="utf-8")
        files.append(path)
    return files


def summary(report: dict[str, Any]) -> tuple[str, list[tuple[str, list[int]]]]:
    findings = sorted((f["code"], f["rows"]) for c in report["checks"] for f in c["findings"])
    return report["verdict"]["decision"], findings


def command(path: Path, cache: Path, config: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "auditor",
        "audit",
        str(path),
        "--format",
        "json",
        "-q",
        "--config",
        str(config),
        "--cache-dir",
        str(cache),
        "-o",
        str(out),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kill-share", type=float, default=0.3)
    parser.add_argument("--rows", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from auditor.api import audit

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="ftaudit-soak-") as name:
        base = Path(name)
        cache, config = base / "cache", base / "ftaudit.toml"
        config.write_text(FAST, encoding="utf-8")
        files = make_files(base, args.workers * 2, args.rows)
        started = time.perf_counter()
        overrides = {
            "embedding": {"use_cache": False},
            "format": {"use_great_expectations": False},
            "labels": {"learning_curve_fractions": []},
        }
        reference = {path: summary(audit(path, overrides=overrides).to_dict()) for path in files}
        print(f"{len(files)} files of {args.rows} rows; no-cache references in {time.perf_counter() - started:.0f}s")
        counts = {"runs": 0, "killed": 0, "finished": 0, "crashes": 0, "wrong": 0, "warnings": 0}
        problems: list[str] = []
        lock = threading.Lock()

        def worker(number: int) -> None:
            rng = random.Random(args.seed * 1000 + number)
            outputs = base / f"out-{number}"
            outputs.mkdir()
            for round_ in range(args.rounds):
                path = files[number * 2 + round_ % 2] if rng.random() < 0.7 else rng.choice(files)
                out = outputs / f"report-{round_}.json"
                process = subprocess.Popen(
                    command(path, cache, config, out),
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                killed = rng.random() < args.kill_share
                if killed:
                    time.sleep(rng.uniform(0.5, 8.0))
                    process.kill()
                _, stderr = process.communicate()
                with lock:
                    counts["runs"] += 1
                    if killed and process.returncode == -9:
                        counts["killed"] += 1
                        continue
                    counts["finished"] += 1
                    if "warning" in stderr:
                        counts["warnings"] += 1
                        problems.append(f"{path.name}: {stderr.strip()}")
                    if process.returncode != 0:
                        counts["crashes"] += 1
                        problems.append(f"{path.name}: exit {process.returncode}: {stderr.strip()[-300:]}")
                    elif summary(json.loads(out.read_text(encoding="utf-8"))) != reference[path]:
                        counts["wrong"] += 1
                        problems.append(f"{path.name}: findings differ from the no-cache reference")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        soak_seconds = time.perf_counter() - started
        unusable = 0
        for path in files:
            out = base / "final.json"
            result = subprocess.run(command(path, cache, config, out), env=env, capture_output=True, text=True)
            wrong = result.returncode != 0 or summary(json.loads(out.read_text())) != reference[path]
            if wrong or "warning" in result.stderr:
                unusable += 1
                problems.append(f"final {path.name}: exit {result.returncode} {result.stderr.strip()[-200:]}")
        tmp = cache / "tmp"
        leftovers = sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else []
        hidden = sorted(str(p.relative_to(base)) for p in base.rglob(".*.tmp"))
        shards = sum(1 for p in (cache / "embeddings").glob("*/shard-*") if p.is_dir())
        damaged = len(list((cache / "damaged").iterdir())) if (cache / "damaged").is_dir() else 0
        print(
            f"workers {args.workers} x rounds {args.rounds}: {counts['runs']} audits, "
            f"{counts['killed']} killed (kill -9), {counts['finished']} finished in {soak_seconds:.0f}s"
        )
        print(
            f"crashes {counts['crashes']} · wrong findings vs no-cache {counts['wrong']} · cache warnings "
            f"{counts['warnings']} · unusable caches {unusable} (final audit of all {len(files)} files) · "
            f"leftover temp files {len(leftovers) + len(hidden)} · shards now {shards} · damaged set aside {damaged}"
        )
        for problem in problems[:10]:
            print("  -", problem)


if __name__ == "__main__":
    main()
