from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from auditor.annotate import to_jsonl
from auditor.api import audit
from checks.sensitive import redact_text
from tests.conftest import SAMPLE, shared_file

# Built from parts so that no complete credential-shaped literal sits in the source.
OPENAI_KEY = "sk-" + "proj-" + "T3qLz8Vb2WmKx9Rn4Hs7Jd1Fc6Yp0Ga5Eu"
AWS_KEY = "AK" + "IA" + "Q3EGRYKXJ5T2NP7W"
JWT = (
    ".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
        for part in ({"alg": "HS256", "typ": "JWT"}, {"sub": "4821", "name": "Maria Lopez"})
    )
    + ".Qm9ndXNTaWduYXR1cmVWYWx1ZTEyMzQ1Njc4OTA"
)
PRIVATE_KEY = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq9Tc2xH1sGfz0\n-----END RSA PRIVATE KEY-----"
CARD = "4242 4242 4242 4242"
EMAIL = "maria.lopez84@gmail.com"
PHONE = "+44 7700 900123"
IBAN = "GB82 WEST 1234 5698 7654 32"
IP = "84.17.32.9"

# line -> (message index to edit: 0 system, 1 user, 2 assistant; text appended)
INJECTED = {
    3: (1, f" You can reach me at {EMAIL}."),
    10: (1, f" Please call me back on {PHONE}."),
    20: (1, f" My card is {CARD}, can you check the payment?"),
    30: (1, f" Refund it to {IBAN} please."),
    40: (1, f" The tracking page says my IP {IP} is blocked."),
    50: (2, f" Our API key is {OPENAI_KEY} if you need it."),
    60: (0, f" Internal: use {AWS_KEY} for the label service."),
    70: (1, f" Here is my key:\n{PRIVATE_KEY}"),
    80: (1, f" session token {JWT}"),
}
SECRETS = (
    OPENAI_KEY,
    AWS_KEY,
    JWT,
    PRIVATE_KEY,
    CARD,
    EMAIL,
    PHONE,
    IBAN,
    IP,
    "4242424242424242",
    PRIVATE_KEY.split("\n")[1],
)


def injected_copy(tmp_path: Path) -> Path:
    lines = (SAMPLE / "support_train.jsonl").read_text(encoding="utf-8").splitlines()
    for line, (index, text) in INJECTED.items():
        record = json.loads(lines[line - 1])
        record["messages"][index]["content"] += text
        lines[line - 1] = json.dumps(record, ensure_ascii=False)
    path = tmp_path / "support_with_secrets.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_kind_is_found_at_its_line_and_shown_redacted(tmp_path: Path, isolated_config: Path) -> None:
    report = audit(injected_copy(tmp_path), only=["sensitive"])
    result = report.check("sensitive")
    by_code = {f.code: f for f in result.findings}
    expected = {
        "PII001": (3,),
        "PII002": (10,),
        "PII003": (20,),
        "PII004": (30,),
        "PII005": (40,),
        "PII006": (50, 60, 80),
        "PII007": (70,),
    }
    assert {code: f.rows for code, f in by_code.items()} == expected
    assert result.status == "fail" and result.metrics["rows_affected"] == 9
    assert result.metrics["secrets_found"] == 5 and result.metrics["personal_data_found"] == 4
    assert {by_code[c].severity for c in ("PII003", "PII006", "PII007")} == {"error"}
    assert {by_code[c].severity for c in ("PII001", "PII002", "PII004", "PII005")} == {"warning"}
    assert "m***@g***.com" in by_code["PII001"].message
    assert "**** **** **** 4242" in by_code["PII003"].message
    assert "sk-proj-…" + OPENAI_KEY[-4:] in by_code["PII006"].message
    assert by_code["PII006"].data["by_type"] == {"openai": 1, "aws": 1, "jwt": 1}
    assert by_code["PII006"].data["by_field"] == {"output": 1, "system": 1, "input": 1}
    assert by_code["PII004"].data["examples"] == ["GB82 **** 32"]
    rendered = json.dumps(report.to_dict(), ensure_ascii=False) + to_jsonl(report.annotations)
    for secret in SECRETS:
        assert secret not in rendered, secret[:6]
    annotated = dict(zip(report.annotations["line"].to_list(), report.annotations["sensitive"].to_list()))
    assert annotated[50] == "api_key" and annotated[3] == "email" and annotated[4] is None


def test_personal_data_alone_warns_and_allow_lists_apply(tmp_path: Path, isolated_config: Path) -> None:
    path = injected_copy(tmp_path)
    personal = audit(path, only=["sensitive"], overrides={"sensitive": {"kinds": ["email", "phone", "ip"]}}).check(
        "sensitive"
    )
    assert personal.status == "warn" and [f.code for f in personal.findings] == ["PII001", "PII005", "PII002"]
    allowed = audit(
        path,
        only=["sensitive"],
        overrides={
            "sensitive": {
                "kinds": ["email", "api_key"],
                "allow_domains": ["gmail.com"],
                "allow_patterns": ["^AKIA", "^eyJ"],
            }
        },
    ).check("sensitive")
    assert [(f.code, f.rows) for f in allowed.findings] == [("PII006", (50,))]


def test_invalid_settings_are_error_results(tmp_path: Path, isolated_config: Path) -> None:
    path = injected_copy(tmp_path)
    assert (
        audit(path, only=["sensitive"], overrides={"sensitive": {"kinds": ["passport"]}}).check("sensitive").status
        == "error"
    )
    assert (
        audit(path, only=["sensitive"], overrides={"sensitive": {"allow_patterns": ["("]}}).check("sensitive").status
        == "error"
    )


@pytest.mark.calibration
def test_clean_real_sets_have_no_findings(isolated_config: Path) -> None:
    for parts in (
        ("banking77", "train.csv"),
        ("gsm8k", "train.jsonl"),
        ("openai_cookbook", "drone_training.jsonl"),
        ("openai_cookbook", "dbpedia_samples.jsonl"),
    ):
        result = audit(shared_file(*parts), only=["sensitive"]).check("sensitive")
        assert result.status == "pass" and result.findings == () and result.metrics["rows_scanned"] > 100, parts


@pytest.mark.parametrize(
    "name, rows",
    [("math_word_problems.jsonl", 101), ("bank_intents.csv", 240), ("tool_calls.jsonl", 46), ("tickets.csv", 160)],
)
def test_clean_sample_sets_have_no_findings(name: str, rows: int, isolated_config: Path) -> None:
    """Prices, quantities, decimals, dates, times, tracking and locker ids, 4-digit PINs: none is personal data."""
    result = audit(SAMPLE / name, only=["sensitive"]).check("sensitive")
    assert result.status == "pass" and result.findings == () and result.metrics["rows_scanned"] == rows


def test_sample_training_set_is_clean(isolated_config: Path) -> None:
    result = audit(SAMPLE / "support_train.jsonl", only=["sensitive"]).check("sensitive")
    assert result.status == "pass" and result.metrics["rows_affected"] == 0


def test_contact_details_written_into_instructions_are_found(isolated_config: Path) -> None:
    path = SAMPLE / "instructions.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = audit(path, only=["sensitive"]).check("sensitive")
    by_code = {f.code: f for f in result.findings}
    assert set(by_code) == {"PII001", "PII002"} and result.status == "warn"
    conference = next(n for n, r in enumerate(rows, 1) if "participants at the conference" in r["instruction"])
    listing = next(n for n, r in enumerate(rows, 1) if "Call us at" in r["input"])
    assert by_code["PII001"].rows == (conference,) and by_code["PII001"].data["matches"] == 12
    assert by_code["PII001"].data["by_field"] == {"input": 6, "output": 6}
    assert by_code["PII002"].rows == (listing,) and by_code["PII002"].data["matches"] == 2
    assert "555-0148" not in json.dumps([f.to_dict() for f in result.findings])


@pytest.mark.calibration
def test_contact_details_written_into_self_instruct_are_found(tmp_path: Path, isolated_config: Path) -> None:
    source = shared_file("self_instruct", "user_oriented_instructions.jsonl")
    rows = [
        {"instruction": task["instruction"], "input": instance["input"], "output": instance["output"]}
        for task in map(json.loads, source.read_text(encoding="utf-8").splitlines())
        for instance in task["instances"]
    ]
    path = tmp_path / "user_oriented.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = audit(path, only=["sensitive"]).check("sensitive")
    by_code = {f.code: f for f in result.findings}
    assert set(by_code) == {"PII001", "PII002"} and result.status == "warn"
    conference = next(n for n, r in enumerate(rows, 1) if "participants at the conference" in r["instruction"])
    listing = next(n for n, r in enumerate(rows, 1) if "Call us at" in r["input"])
    assert by_code["PII001"].rows == (conference,) and by_code["PII001"].data["matches"] == 6
    assert by_code["PII002"].rows == (listing,)


def test_redact_text_for_snippets_elsewhere() -> None:
    text = f"mail {EMAIL}, card {CARD}, key {OPENAI_KEY}; order PX-482913 on 2024-03-05 costs £4.00"
    assert redact_text(text) == (
        "mail m***@g***.com, card **** **** **** 4242, key sk-proj-…"
        + OPENAI_KEY[-4:]
        + "; order PX-482913 on 2024-03-05 costs £4.00"
    )
