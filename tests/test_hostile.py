from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.cli import main
from auditor.errors import InputError
from auditor.io import write_atomic
from auditor.load import load_dataset
from tests.conftest import ROOT

CHAT = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where is my parcel?"},
        {"role": "assistant", "content": "It is out for delivery today."},
    ]
}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(data)
    try:
        dataset = load_dataset(path, "train")
    except InputError as exc:
        assert "\n" not in str(exc) and "fuzz.jsonl" in str(exc)
        return
    assert dataset.rows_read == dataset.rows_valid + sum(1 for f in dataset.findings if f.severity == "error")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.lists(JSON_VALUES, max_size=8), positions=st.lists(st.integers(0, 8), min_size=1, max_size=5))
def test_valid_rows_survive_arbitrary_json_around_them(tmp_path: Path, junk: list, positions: list[int]) -> None:
    lines = [json.dumps(value) for value in junk]
    for offset, position in enumerate(sorted(positions)):
        good = json.loads(json.dumps(CHAT))
        good["messages"][1]["content"] = f"Where is parcel {offset}?"
        lines.insert(min(position + offset, len(lines)), json.dumps(good))
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = load_dataset(path, "train")
    expected = [n for n, line in enumerate(lines, 1) if "Where is parcel" in line and line.startswith('{"messages"')]
    assert set(expected) <= set(dataset.valid["line"].to_list())


def chat_line(content: str = "Where is my parcel?") -> str:
    row = json.loads(json.dumps(CHAT))
    row["messages"][1]["content"] = content
    return json.dumps(row, ensure_ascii=False)


HOSTILE_FILES = {
    "empty.jsonl": (b"", "FMT014"),
    "blank_lines_only.jsonl": (b"\n\n  \n\r\n", "FMT014"),
    "bom.jsonl": (b"\xef\xbb\xbf" + "\n".join(chat_line(f"q{i}") for i in range(3)).encode(), None),
    "array_not_jsonl.jsonl": (json.dumps([CHAT, CHAT], indent=2).encode(), "FMT009"),
    "nul_bytes.jsonl": (
        chat_line().encode() + b"\n" + chat_line("a\x00b").encode().replace(b"\\u0000", b"\x00") + b"\n",
        "FMT001",
    ),
    "latin1.jsonl": (chat_line().encode() + b"\n" + chat_line("caf\u00e9").encode("latin-1") + b"\n", "FMT005"),
    "null_fields.jsonl": (
        chat_line().encode()
        + b"\n"
        + b'{"messages": [{"role": "user", "content": null}, {"role": "assistant", "content": "x"}]}\n',
        "FMT003",
    ),
    "messages_not_list.jsonl": (chat_line().encode() + b'\n{"messages": {"role": "user"}}\n', "FMT003"),
    "numbers_for_text.jsonl": (b'{"prompt": "a", "completion": "b"}\n{"prompt": 12, "completion": "c"}\n', "FMT003"),
    "deeply_nested.jsonl": (
        chat_line().encode() + b"\n" + b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
        "FMT001",
    ),
    "mixed_formats.jsonl": (
        "\n".join(
            [chat_line("a"), chat_line("b"), chat_line("c"), json.dumps({"prompt": "p", "completion": "c"})]
        ).encode(),
        "FMT015",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_hostile_file_gives_a_finding_and_exit_0(tmp_path: Path, name: str, isolated_config: Path) -> None:
    content, code = HOSTILE_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = CliRunner().invoke(main, ["audit", str(path), "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    report = json.loads(result.output)
    codes = {f["code"] for c in report["checks"] for f in c["findings"]}
    assert code is None or code in codes, codes
    assert all(c["status"] != "error" for c in report["checks"]), [
        c["summary"] for c in report["checks"] if c["status"] == "error"
    ]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_single_20_mb_line(tmp_path: Path, isolated_config: Path) -> None:
    path = tmp_path / "huge.jsonl"
    huge = json.loads(json.dumps(CHAT))
    huge["messages"][2]["content"] = "Eat a banana! " * 1_500_000
    path.write_text("\n".join([chat_line("a"), json.dumps(huge), chat_line("b")]) + "\n")
    assert path.stat().st_size > 20_000_000
    result = CliRunner().invoke(main, ["audit", str(path), "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    findings = {f["code"]: f["rows"] for c in json.loads(result.output)["checks"] for f in c["findings"]}
    assert findings["FMT012"] == [2]


@pytest.mark.parametrize(
    "args, message",
    [
        (["audit", "nowhere.jsonl"], "nowhere.jsonl: no such file"),
        (["audit", "data.yaml"], "unknown file type"),
        (["audit", "broken_array.json"], "broken_array.json:1: invalid JSON array"),
        (["audit", "folder.jsonl"], "is a directory"),
    ],
)
def test_file_level_errors_are_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.yaml").write_text("a: 1\n")
    (tmp_path / "broken_array.json").write_text('[{"prompt": "a", "completion": "b"}, {"prompt": ')
    (tmp_path / "folder.jsonl").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_write_atomic_leaves_old_file_and_no_temp_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new" * 1000)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


NO_NETWORK = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""


def test_audit_runs_with_networking_unavailable(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(NO_NETWORK)
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
        "HF_HUB_OFFLINE": "",
        "TRANSFORMERS_OFFLINE": "",
    }
    command = [
        sys.executable,
        "-m",
        "auditor",
        "audit",
        str(ROOT / "sample_data" / "support_train.jsonl"),
        "--production",
        str(ROOT / "sample_data" / "support_production.txt"),
        "--no-cache",
        "--format",
        "json",
        "-q",
    ]
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-n", *command]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["embedding"]["computed"] > 150 and report["verdict"]["decision"] in (
        "pilot",
        "keep-prompting",
        "fine-tune",
    )
