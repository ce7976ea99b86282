"""False-positive scan of the sensitive-data check on real public datasets.

Runs `checks/sensitive.py` over Banking77 train, GSM8K train, CLINC150 (all splits), the
cookbook's dbpedia and drone sets and both self-instruct files, and prints every finding
(redacted, as the reports show them) with the time taken. CLINC150 and self-instruct are
converted to JSON Lines in a temporary folder first (classification {text, intent} and
instruction {instruction, input, output}, one row per instance).

    PYTHONPATH=. python -m bench.sensitive_scan
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from auditor.api import audit

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def clinc_rows() -> list[dict]:
    data = json.loads((SHARED / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return [{"text": text, "intent": intent} for split in sorted(data) for text, intent in data[split]]


def self_instruct_rows(name: str) -> list[dict]:
    rows = []
    for line in (SHARED / "self_instruct" / name).read_text(encoding="utf-8").splitlines():
        task = json.loads(line)
        for instance in task["instances"]:
            rows.append({"instruction": task["instruction"], "input": instance["input"], "output": instance["output"]})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def datasets(folder: Path) -> dict[str, Path]:
    return {
        "banking77 train": SHARED / "banking77" / "train.csv",
        "gsm8k train": SHARED / "gsm8k" / "train.jsonl",
        "clinc150 (all splits)": write_jsonl(folder / "clinc150.jsonl", clinc_rows()),
        "dbpedia_samples": SHARED / "openai_cookbook" / "dbpedia_samples.jsonl",
        "drone_training": SHARED / "openai_cookbook" / "drone_training.jsonl",
        "self_instruct seed_tasks": write_jsonl(folder / "seed_tasks.jsonl", self_instruct_rows("seed_tasks.jsonl")),
        "self_instruct user_oriented": write_jsonl(
            folder / "user_oriented.jsonl", self_instruct_rows("user_oriented_instructions.jsonl")
        ),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in datasets(Path(tmp)).items():
            started = time.perf_counter()
            result = audit(path, only=["sensitive"]).check("sensitive")
            seconds = time.perf_counter() - started
            print(
                f"{name}: {result.metrics.get('rows_scanned')} rows, status {result.status}, "
                f"{result.seconds:.2f} s check ({seconds:.2f} s with loading): {result.summary}"
            )
            for finding in result.findings:
                print(f"  {finding.code} [{finding.severity}] lines {list(finding.rows)[:20]}: {finding.message}")


if __name__ == "__main__":
    main()
