"""Faults around the input (issue 16): a shared cache under concurrent writers and kill -9, damaged
shards, a cache that cannot be written, signals, outputs that would destroy data, hostile config values."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from auditor import embed_cache
from auditor.cli import main
from auditor.embed import Embedder
from auditor.embed_cache import MAX_SHARDS, EmbeddingCache, describe, file_sha256
from tests.conftest import ROOT, SAMPLE

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
TEXTS = ["where is my parcel", "how do I get a refund", "change my delivery address", "the tracking page is blank"]

# A cache worker with deterministic vectors (a function of the key), so any wrong vector is detectable.
WORKER = """
import sys, hashlib, random, numpy as np
from pathlib import Path
from auditor.embed_cache import EmbeddingCache
root, worker, shards, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def key(w, i): return hashlib.sha256(f"{w}-{i}".encode()).hexdigest().encode()
def vec(keys):
    out = np.stack([np.random.default_rng(int(k[:15], 16)).standard_normal(8) for k in keys]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)
cache = EmbeddingCache(Path(root), "model")
rng = random.Random(worker)
for s in range(shards):
    keys = np.array([key(worker, s * per + j) for j in range(per)], dtype="S64")
    cache.store(keys, vec(keys))
    probe = np.array([key(rng.randrange(8), rng.randrange(shards * per)) for _ in range(40)], dtype="S64")
    vectors, found = cache.lookup(probe)
    if found.any() and not np.allclose(vectors[found], vec(probe[found]), atol=1e-6):
        print("WRONG VECTORS", flush=True)
        sys.exit(3)
print("done", flush=True)
"""


def det_vectors(keys: np.ndarray) -> np.ndarray:
    out = np.stack([np.random.default_rng(int(k[:15], 16)).standard_normal(8) for k in keys]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def worker_keys(worker: int, count: int) -> np.ndarray:
    import hashlib

    return np.array([hashlib.sha256(f"{worker}-{i}".encode()).hexdigest().encode() for i in range(count)], dtype="S64")


def start_worker(root: Path, worker: int, shards: int, per: int = 5) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(root), str(worker), str(shards), str(per)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_cache_is_truthful(root: Path) -> None:
    """Every vector the cache serves is the right one; nothing was set aside; a new process sweeps all temp files."""
    cache = EmbeddingCache(root, "model")
    for worker in range(8):
        keys = worker_keys(worker, 200)
        vectors, found = cache.lookup(keys)
        if found.any():
            assert np.allclose(vectors[found], det_vectors(keys[found]), atol=1e-6)
    assert cache.damaged == []
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from auditor.embed_cache import "
            "scratch_dir, release_scratch; scratch_dir(Path(sys.argv[1])); release_scratch()",
            str(root),
        ],
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert describe(root)["tmp_entries"] == [], "leftover temporary files after a later run"


def test_concurrent_writers_past_the_compaction_point(tmp_path: Path) -> None:
    workers = [start_worker(tmp_path, w, shards=MAX_SHARDS) for w in range(4)]
    outcomes = [(w.wait(timeout=120), w.stdout.read(), w.stderr.read()) for w in workers]  # type: ignore[union-attr]
    assert all(code == 0 and "done" in out and "warning" not in err for code, out, err in outcomes), outcomes
    cache = EmbeddingCache(tmp_path, "model")
    for worker in range(4):
        keys = worker_keys(worker, MAX_SHARDS * 5)
        vectors, found = cache.lookup(keys)
        assert found.all() and np.allclose(vectors, det_vectors(keys), atol=1e-6)
    assert describe(tmp_path)["shards"] <= MAX_SHARDS + 4
    assert_cache_is_truthful(tmp_path)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kill_9_at_a_random_point_leaves_a_truthful_cache(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    workers = [start_worker(tmp_path, w, shards=12) for w in range(3)]
    time.sleep(0.6 + rng.random() * 1.5)
    victim = workers[rng.randrange(3)]
    victim.send_signal(signal.SIGKILL)
    for w in workers:
        w.wait(timeout=120)
    assert all(w.returncode == 0 for w in workers if w is not victim)
    assert_cache_is_truthful(tmp_path)


FAST = "[format]\nuse_great_expectations = false\n[labels]\nlearning_curve_fractions = []\n"


@pytest.mark.parametrize("seed", [3, 4])
def test_kill_9_of_an_audit_then_a_rerun(tmp_path: Path, seed: int) -> None:
    """kill -9 during a real audit: the next audit on the same cache gives the no-cache findings and no leftovers."""
    from auditor.api import audit

    train, config, cache, out = (
        tmp_path / "train.jsonl",
        tmp_path / "ftaudit.toml",
        tmp_path / "cache",
        tmp_path / "r.json",
    )
    train.write_text("".join((SAMPLE / "support_train.jsonl").read_text().splitlines(keepends=True)[:150]))
    config.write_text(FAST)
    args = [
        sys.executable,
        "-m",
        "auditor",
        "audit",
        str(train),
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
    victim = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.Random(seed).uniform(1.0, 4.0))
    victim.kill()
    victim.wait()
    again = subprocess.run(args, env=ENV, capture_output=True, text=True)
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr
    reference = audit(
        train,
        config=None,
        overrides={
            "embedding": {"use_cache": False},
            "format": {"use_great_expectations": False},
            "labels": {"learning_curve_fractions": []},
        },
    ).to_dict()

    def findings(report: dict) -> list:
        return [(f["code"], f["rows"]) for c in report["checks"] for f in c["findings"]]

    cached = json.loads(out.read_text())
    assert cached["verdict"]["decision"] == reference["verdict"]["decision"] and findings(cached) == findings(reference)
    assert describe(cache)["tmp_entries"] == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "a hidden temp file was left"


def _damage_zero_keys(shard: Path) -> None:
    (shard / "keys.npy").write_bytes(b"")


def _damage_zero_vectors(shard: Path) -> None:
    (shard / "vectors.npy").write_bytes(b"")


def _damage_truncated(shard: Path) -> None:
    data = (shard / "vectors.npy").read_bytes()
    (shard / "vectors.npy").write_bytes(data[: len(data) // 2])


def _rewrite(shard: Path, vectors: np.ndarray) -> None:
    """Consistent damage: new vectors with a manifest that matches them (only validation can catch it)."""
    np.save(shard / "vectors.npy", vectors)
    manifest = json.loads((shard / "manifest.json").read_text())
    manifest.update(dim=int(vectors.shape[1]), vectors_sha256=file_sha256(shard / "vectors.npy"))
    (shard / "manifest.json").write_text(json.dumps(manifest))


def _damage_nan(shard: Path) -> None:
    vectors = np.load(shard / "vectors.npy")
    _rewrite(shard, np.full_like(vectors, np.nan))


def _damage_ten_dims(shard: Path) -> None:
    _rewrite(shard, np.ascontiguousarray(np.load(shard / "vectors.npy")[:, :10]))


def _damage_norm(shard: Path) -> None:
    _rewrite(shard, np.load(shard / "vectors.npy") * 3)


def _damage_checksum(shard: Path) -> None:
    vectors = np.load(shard / "vectors.npy")
    np.save(shard / "vectors.npy", vectors[::-1].copy())


def _damage_manifest(shard: Path) -> None:
    (shard / "manifest.json").write_text("{not json")


def _damage_no_manifest(shard: Path) -> None:
    (shard / "manifest.json").unlink()


DAMAGE = {
    f.__name__[len("_damage_") :]: f
    for f in (
        _damage_zero_keys,
        _damage_zero_vectors,
        _damage_truncated,
        _damage_nan,
        _damage_ten_dims,
        _damage_norm,
        _damage_checksum,
        _damage_manifest,
        _damage_no_manifest,
    )
}


@pytest.fixture(scope="module")
def reference_vectors() -> np.ndarray:
    return Embedder(cache_dir=None, quiet=True).encode(TEXTS)


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_shard_is_set_aside_and_recomputed(
    tmp_path: Path, kind: str, reference_vectors: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    first = Embedder(cache_dir=tmp_path, quiet=True)
    first.encode(TEXTS)
    (shard,) = [p for p in tmp_path.rglob("shard-*") if p.is_dir()]
    DAMAGE[kind](shard)
    embed_cache._WARNED.clear()
    capsys.readouterr()
    again = Embedder(cache_dir=tmp_path, quiet=True)
    vectors = again.encode(TEXTS)
    err = capsys.readouterr().err
    assert np.allclose(vectors, reference_vectors, atol=1e-5), "damaged vectors were served"
    assert again.stats.computed == len(TEXTS)
    assert err.count("ftaudit: warning:") == 1 and "damaged" in err and "\n" == err[-1], err
    third = Embedder(cache_dir=tmp_path, quiet=True)
    assert np.allclose(third.encode(TEXTS), reference_vectors, atol=1e-5) and third.stats.cached == len(TEXTS)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_unwritable_cache_warns_once_and_gives_the_same_vectors(
    tmp_path: Path,
    code: int,
    reference_vectors: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(embed_cache, "scratch_dir", full)
    embed_cache._WARNED.clear()
    embedder = Embedder(cache_dir=tmp_path / "cache", quiet=True)
    first, second = embedder.encode(TEXTS[:2]), embedder.encode(TEXTS)
    err = capsys.readouterr().err
    assert np.allclose(first, reference_vectors[:2], atol=1e-5) and np.allclose(second, reference_vectors, atol=1e-5)
    assert err.count("ftaudit: warning:") == 1 and "running without caching" in err and os.strerror(code) in err


def test_full_disk_while_writing_a_shard_leaves_no_partial_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_save = np.save

    def save(path: object, *args: object, **kwargs: object) -> None:
        if str(path).endswith("vectors.npy"):
            Path(str(path)).write_bytes(b"\x93NUMPY partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(embed_cache.np, "save", save)
    embed_cache._WARNED.clear()
    Embedder(cache_dir=tmp_path, quiet=True).encode(TEXTS)
    assert "No space left on device" in capsys.readouterr().err
    assert describe(tmp_path)["shards"] == 0
    monkeypatch.setattr(embed_cache.np, "save", real_save)
    again = Embedder(cache_dir=tmp_path, quiet=True)
    again.encode(TEXTS)
    assert again.stats.computed == len(TEXTS) and describe(tmp_path)["shards"] == 1


def test_kill_9_leftover_scratch_is_swept_by_the_next_run(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from auditor.embed_cache import scratch_dir; "
        "d = scratch_dir(Path(sys.argv[1])); (d / 'big.npy').write_bytes(b'0' * 100000); print(d, flush=True); "
        "time.sleep(60)"
    )
    victim = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=ENV, stdout=subprocess.PIPE, text=True)
    left = Path(victim.stdout.readline().strip())  # type: ignore[union-attr]
    assert left.is_dir()
    embed_cache.sweep(tmp_path / "tmp")
    assert left.is_dir(), "a live process's scratch folder must not be swept"
    victim.kill()
    victim.wait()
    embed_cache.sweep(tmp_path / "tmp")
    assert describe(tmp_path)["tmp_entries"] == []


# The audit is held in place (api.audit sleeps) so the signal always lands mid-run.
HELD = """
import sys, time
from pathlib import Path
import auditor.api
from auditor.embed_cache import scratch_dir
def held(*args, **kwargs):
    folder = scratch_dir(Path(sys.argv[1]))
    (folder / "partial.npy").write_bytes(b"0" * 1000)
    print("ready", flush=True)
    time.sleep(60)
auditor.api.audit = held
from auditor.cli import main
sys.argv = ["ftaudit", "audit", sys.argv[2], "-q", "-o", sys.argv[3]]
main()
"""


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_exits_with_its_own_code_one_line_and_no_temp_files(tmp_path: Path, signum: int, code: int) -> None:
    out = tmp_path / "report.txt"
    process = subprocess.Popen(
        [sys.executable, "-c", HELD, str(tmp_path / "cache"), str(SAMPLE / "support_train.jsonl"), str(out)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == code
    assert stderr.strip() == "ftaudit: interrupted", stderr
    assert describe(tmp_path / "cache")["tmp_entries"] == [] and not out.exists()


@pytest.fixture
def train_copy(tmp_path: Path) -> Path:
    target = tmp_path / "train.jsonl"
    target.write_bytes((SAMPLE / "support_train.jsonl").read_bytes()[:20000].rsplit(b"\n", 1)[0] + b"\n")
    return target


def _one_line_exit_2(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ftaudit: error:"), result.output
    return lines[0]


def test_output_onto_the_input_is_refused(train_copy: Path) -> None:
    before = train_copy.read_bytes()
    line = _one_line_exit_2(["audit", str(train_copy), "--format", "json", "-o", str(train_copy)])
    assert "overwrite the input" in line and train_copy.read_bytes() == before
    _one_line_exit_2(["audit", str(train_copy), "--annotate", str(train_copy)])
    link = train_copy.with_name("link.json")
    link.symlink_to(train_copy)
    _one_line_exit_2(["audit", str(train_copy), "-o", str(link)])
    hard = train_copy.with_name("hard.json")
    os.link(train_copy, hard)
    _one_line_exit_2(["audit", str(train_copy), "-o", str(hard)])
    assert train_copy.read_bytes() == before


def test_outputs_that_are_not_regular_files_or_collide_are_refused(train_copy: Path, tmp_path: Path) -> None:
    assert "not a regular file" in _one_line_exit_2(["audit", str(train_copy), "-o", "/dev/null"])
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _one_line_exit_2(["audit", str(train_copy), "-o", str(fifo)])
    assert "same file" in _one_line_exit_2(
        ["audit", str(train_copy), "-o", str(tmp_path / "x"), "--annotate", str(tmp_path / "x")]
    )
    assert "directory" in _one_line_exit_2(["audit", str(train_copy), "-o", str(tmp_path)])
    assert "not a regular file" in _one_line_exit_2(["init", "/dev/null", "--force"])


def test_an_input_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero.jsonl"
    link.symlink_to("/dev/zero")
    started = time.perf_counter()
    assert "not a regular file" in _one_line_exit_2(["audit", str(link)])
    assert time.perf_counter() - started < 5


def test_symlinked_output_writes_through_the_link_with_umask_permissions(train_copy: Path, tmp_path: Path) -> None:
    real, link = tmp_path / "real.md", tmp_path / "card.md"
    real.write_text("old")
    link.symlink_to(real)
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            main,
            [
                "audit",
                str(train_copy),
                "--format",
                "markdown",
                "-o",
                str(link),
                "-q",
                "--annotate",
                str(tmp_path / "rows.jsonl"),
            ],
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.read_text().startswith("# Fine-tuning readiness")
    assert (os.stat(tmp_path / "rows.jsonl").st_mode & 0o777) == 0o644, "outputs get normal umask permissions"


def test_dash_output_is_stdout(train_copy: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", str(train_copy), "--format", "json", "-o", "-", "-q"])
    assert result.exit_code == 0 and json.loads(result.output)["schema_version"] == 1
    assert not (tmp_path / "-").exists() and not Path("-").exists()


@pytest.mark.parametrize(
    "setting, key",
    [
        ("[embedding]\nbatch_size = -64", "embedding.batch_size"),
        ("[coverage]\nmin_coverage = 1.5", "coverage.min_coverage"),
        ("[neighbours]\nk = 0", "neighbours.k"),
        ("[size]\nminimum_from = -1", "size.minimum_from"),
        ("[tokens]\nepochs = -2", "tokens.epochs"),
        ("[labels]\nfolds = 1", "labels.folds"),
    ],
)
def test_config_values_out_of_range_are_one_line_errors(
    train_copy: Path, tmp_path: Path, setting: str, key: str
) -> None:
    config = tmp_path / "ftaudit.toml"
    config.write_text(setting + "\n")
    line = _one_line_exit_2(["audit", str(train_copy), "--config", str(config), "-q"])
    assert f"'{key}'" in line


def test_every_default_is_inside_its_documented_range() -> None:
    from auditor.config import all_defaults
    from auditor.config_ranges import check_range

    for section, values in all_defaults().items():
        for key, value in values.items():
            check_range("defaults", f"{section}.{key}", value)


def test_memory_exhaustion_is_one_line(train_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import auditor.api

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError()

    monkeypatch.setattr(auditor.api, "load_inputs", exhausted)
    assert "out of memory" in _one_line_exit_2(["audit", str(train_copy), "-q"])


HOSTILE = [
    "[/]",
    "[bold red]LABEL[/bold red]",
    "\x1b]0;pwned\x07",
    "\x1b[2J",
    "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "abc\u202edcb",
    "![x](https://evil.example/x.png)",
    "<img src=https://evil.example/y.png>",
    "\x9b31m",
    "a\rb",
]


def hostile_report() -> dict:
    text = " ".join(HOSTILE)
    check = {
        "id": "size",
        "status": "warn",
        "summary": text,
        "metrics": {"label_counts": {text: 3, "ok": 5}},
        "findings": [
            {"code": "LBL001", "severity": "warning", "message": text, "rows": [1, 2], "data": {}, "split": "train"}
        ],
        "seconds": 0.1,
    }
    return {
        "schema_version": 1,
        "tool": {"name": "ftaudit", "version": text},
        "created_at": text,
        "inputs": {
            "train": {
                "path": text,
                "sha256": text,
                "format": text,
                "task": text,
                "rows_read": 3,
                "rows_valid": 3,
                "labels": None,
                "fields": {},
            }
        },
        "verdict": {
            "decision": "pilot",
            "size_tier": text,
            "usable_examples": 3,
            "reasons": [text],
            "next_steps": [text],
            "readiness_score": 50,
            "data_decision": "pilot",
            "caps": [],
            "context_applied": [],
        },
        "checks": [check],
        "config": {"source": text, "values": {"context": {text: text}}},
        "embedding": {"model": text},
        "timings": {},
    }


def test_terminal_renders_hostile_text_inert() -> None:
    from auditor.report.terminal import render

    out = render(hostile_report(), color=False)
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out and "\r" not in out
    assert "[/]" in out and "[bold red]LABEL[/bold red]" in out and "\\x1b" in out and "\\u202e" in out


def test_markdown_and_html_render_hostile_text_inert() -> None:
    import re

    from auditor.report.html_report import render as html
    from auditor.report.markdown import render as markdown

    md = markdown(hostile_report())
    assert "\x1b" not in md and "\u202e" not in md
    live = re.sub(r"\\.", "", re.sub(r"`[^`\n]*`", "", md))  # code spans and escaped characters are shown literally
    assert "![" not in live and "<img" not in live and "](" not in live
    page = html(hostile_report())
    assert "<img" not in page and "\x1b" not in page and "\u202e" not in page and "&lt;img" in page


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "html", "json"])
def test_render_of_a_crafted_report(tmp_path: Path, fmt: str) -> None:
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(hostile_report()))
    result = CliRunner().invoke(main, ["render", str(saved), "--format", fmt])
    assert result.exit_code == 0 and "\x1b]" not in result.output, result.output
    broken = hostile_report()
    broken["verdict"]["usable_examples"] = {"not": "a number"}
    broken["checks"][0]["metrics"]["thresholds"] = {"minimum_from": "x"}
    saved.write_text(json.dumps(broken))
    result = CliRunner().invoke(main, ["render", str(saved), "--format", fmt])
    assert result.exit_code in (0, 2) and "Traceback" not in result.output
    if result.exit_code == 2:
        assert len(result.output.strip().splitlines()) == 1 and "not a valid ftaudit report" in result.output


def test_terminal_report_of_data_with_markup_and_escapes(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (SAMPLE / "support_train.jsonl").read_text().splitlines()[:60]]
    for record in rows[:4]:
        record["messages"][1]["content"] = (
            "see [/] and [bold]x[/bold] \x1b]0;pwned\x07 \u202e " + record["messages"][1]["content"]
        )
    rows += rows[:4]
    train = tmp_path / "[odd] name.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(
        main, ["audit", str(train), "-q", "--cache-dir", str(tmp_path / "c"), "--config", str(_fast_config(tmp_path))]
    )
    assert result.exit_code == 0, result.output
    assert "[odd] name.jsonl" in result.output and "\x1b]" not in result.output and "\u202e" not in result.output


def _fast_config(tmp_path: Path) -> Path:
    config = tmp_path / "fast.toml"
    config.write_text(FAST)
    return config
