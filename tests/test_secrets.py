"""Secrets planted in every field of every format never leave the process raw (issue 16, items 11–13).

Each case plants a different random secret in each field (system prompt, input, output, label,
message name, tool definition, an extra field, the field names), with a card number placed exactly
where the 70-character quote limit cuts it; then every output (JSON, Markdown, HTML, terminal),
the annotations, stderr and the cache files are scanned for any recoverable piece of a secret.
"""

from __future__ import annotations

import csv
import json
import random
import re
import string
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.conftest import SAMPLE

FAST = {"format": {"use_great_expectations": False}, "labels": {"learning_curve_fractions": []}}
BASE = [
    r
    for r in map(json.loads, (SAMPLE / "support_train.jsonl").read_text().splitlines())
    if [m["role"] for m in r["messages"]] == ["system", "user", "assistant"]
][:40]


def luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


class Secrets:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.planted: list[str] = []

    def key(self) -> str:
        body = "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(40))
        body = "aB3" + body[3:]
        value = self.rng.choice(
            [
                f"sk-proj-{body}",
                f"AKIA{''.join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))}",
                f"ghp_{body[:36]}",
            ]
        )
        self.planted.append(value)
        return value

    def card(self) -> str:
        value = luhn_card(self.rng)
        self.planted.append(value)
        return value


def cut_card(secrets: Secrets) -> str:
    """A text whose card number straddles the 70-character quote limit."""
    return "please charge the card on file for this order, number " + secrets.card() + " thanks"


def chat_rows(secrets: Secrets) -> list[dict[str, Any]]:
    rows = []
    for i, record in enumerate(BASE):
        record = json.loads(json.dumps(record))
        if i % 4 == 0:
            record["messages"][0]["content"] += " Internal key: " + secrets.key()
            record["messages"][1]["content"] = cut_card(secrets)
            record["messages"][1]["name"] = secrets.key()
            record["tools"] = [
                {"type": "function", "function": {"name": "lookup", "description": "auth " + secrets.key()}}
            ]
            record["metadata"] = {"note": secrets.key()}
            record["messages"][2]["content"] += " Use token " + secrets.key()
        rows.append(record)
    rows += rows[:4]  # duplicates, so duplicate findings quote the planted rows
    return rows


def generative_rows(secrets: Secrets, kind: str) -> list[dict[str, Any]]:
    rows = []
    for i, record in enumerate(BASE):
        question, answer = record["messages"][1]["content"], record["messages"][2]["content"]
        if i % 4 == 0:
            question, answer = cut_card(secrets), answer + " key " + secrets.key()
        if kind == "prompt_completion":
            rows.append({"prompt": question, "completion": answer, "extra": secrets.key() if i % 4 == 0 else "x"})
        else:
            rows.append({"instruction": question, "input": secrets.key() if i % 4 == 0 else "", "output": answer})
    return rows + rows[:4]


def classification_rows(secrets: Secrets) -> list[dict[str, str]]:
    secret_label = secrets.key()
    labels = ["delivery", "refund", secret_label]
    rows = []
    for i, record in enumerate(BASE * 2):
        text = record["messages"][1]["content"] + (f" v{i}" if i >= len(BASE) else "")
        if i % 5 == 0:
            text = cut_card(secrets)
        rows.append({"text": text, "label": labels[i % 3]})
    return rows


def write(tmp_path: Path, fmt: str, secrets: Secrets) -> Path:
    if fmt in ("chat", "prompt_completion", "instruction"):
        rows = chat_rows(secrets) if fmt == "chat" else generative_rows(secrets, fmt)
        path = tmp_path / "train.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path
    rows_c = classification_rows(secrets)
    if fmt == "csv":
        path = tmp_path / "train.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, ["text", "label"])
            writer.writeheader()
            writer.writerows(rows_c)
        return path
    import polars as pl

    path = tmp_path / "train.parquet"
    pl.DataFrame(rows_c).write_parquet(path)
    return path


def leaks(text: str, secret: str) -> list[str]:
    """Pieces of `secret` in `text` that could help rebuild it: the whole value, any 12 characters of a key
    beyond its prefix, or any 6 digits of a card number (separators ignored) other than its last four."""
    found = []
    if secret in text:
        found.append(secret)
    if re.fullmatch(r"[\d ]+", secret):
        digits, flat = secret.replace(" ", ""), re.sub(r"(?<=\d)[ \-](?=\d)", "", text)
        found += [digits[i : i + 6] for i in range(len(digits) - 6 - 3) if digits[i : i + 6] in flat]
    else:
        body = (
            secret.split("_", 1)[-1]
            if secret.startswith("ghp_")
            else secret.split("-")[-1]
            if "-" in secret
            else secret[4:]
        )
        found += [body[i : i + 12] for i in range(len(body) - 12 + 1 - 4) if body[i : i + 12] in text]
    return found


@pytest.mark.parametrize("fmt", ["chat", "prompt_completion", "instruction", "csv", "parquet"])
def test_no_planted_secret_leaves_the_process(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = Secrets(seed=len(fmt))
    train = write(tmp_path, fmt, secrets)
    cache = tmp_path / "cache"
    config = tmp_path / "ftaudit.toml"
    config.write_text("[format]\nuse_great_expectations = false\n[labels]\nlearning_curve_fractions = []\n")
    outputs: dict[str, str] = {}
    runner = CliRunner()
    for out_format in ("json", "markdown", "html", "terminal"):
        target = tmp_path / f"report.{out_format}"
        args = [
            "audit",
            str(train),
            "--format",
            out_format,
            "-o",
            str(target),
            "-q",
            "--config",
            str(config),
            "--cache-dir",
            str(cache),
            "--production",
            str(SAMPLE / "support_production.txt"),
        ]
        if out_format == "json":
            args += ["--annotate", str(tmp_path / "rows.jsonl")]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        outputs[out_format] = target.read_text()
        outputs[f"{out_format} stdout+stderr"] = result.output
    outputs["annotations"] = (tmp_path / "rows.jsonl").read_text()
    rendered = runner.invoke(main, ["render", str(tmp_path / "report.json"), "--format", "markdown"])
    outputs["render"] = rendered.output
    gate = runner.invoke(main, ["gate", str(train), "--config", str(config), "--cache-dir", str(cache), "-q"])
    outputs["gate"] = gate.output
    for path in cache.rglob("*"):
        if path.is_file():
            outputs[f"cache {path.name}"] = path.read_bytes().decode("latin-1")
    report = json.loads(outputs["json"])
    assert report["checks"], "the audit ran"
    assert any(json.loads(line)["input"] for line in outputs["annotations"].splitlines()), "annotations carry the input"
    problems = {
        name: found for name, text in outputs.items() for secret in secrets.planted if (found := leaks(text, secret))
    }
    assert problems == {}, f"raw secrets in {sorted(problems)}: {problems}"
    sensitive = next(c for c in report["checks"] if c["id"] == "sensitive")
    assert sensitive["status"] == "fail" and gate.exit_code == 1


@pytest.mark.parametrize("where", ["tools", "name", "extra"])
def test_gate_fails_on_a_key_outside_the_text_fields(tmp_path: Path, where: str) -> None:
    key = "sk-proj-aB3" + "x7Yq" * 10
    rows = []
    for record in BASE * 4:
        record = json.loads(json.dumps(record))
        rows.append(record)
    if where == "tools":
        rows[3]["tools"] = [{"type": "function", "function": {"name": "f", "description": f"Bearer {key}"}}]
    elif where == "name":
        rows[3]["messages"][1]["name"] = key
    else:
        rows[3]["debug"] = {"headers": {"Authorization": key}}
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(main, ["gate", str(train), "-q", "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 1 and "sensitive" in result.output and key not in result.output, result.output


def test_redaction_honours_the_users_allow_list(tmp_path: Path) -> None:
    """With allow_domains = ["ourshop.com"] a quote of help@ourshop.com stays as written."""
    from auditor.api import audit

    rows = [json.loads(json.dumps(r)) for r in BASE]
    for record in rows[:6]:
        record["messages"][1]["content"] = "please write to help@ourshop.com about my parcel"
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = audit(
        train,
        overrides={
            **FAST,
            "sensitive": {"allow_domains": ["ourshop.com"]},
            "embedding": {"cache_dir": str(tmp_path / "c")},
        },
    )
    text = json.dumps(report.to_dict())
    assert "help@ourshop.com" in text and "h***@o***.com" not in text
