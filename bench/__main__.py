"""Run every benchmark and write bench/RESULTS.md:  python -m bench [--quick]

Each section is the printed output of one script in bench/; run a script alone with
`python -m bench.<name>`. Numbers depend on the machine, which is described at the top.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import import_module, metadata
from pathlib import Path

SECTIONS = [
    ("Embedding backends (3,000 Banking77 texts)", "embedding_bench", ["--rows", "3000"]),
    ("Cold audit vs plain embedding (Banking77 train 10k + test 3k)", "audit_bench", []),
    ("Gate: unchanged file (result cache), changed file (Banking77 train + test)", "gate_bench", ["--repeat", "3"]),
    (
        "Duplicates: injection benchmark (Banking77, GSM8K; plain and 3 preamble styles; 3 seeds)",
        "duplicates_bench",
        ["--seeds", "0", "1", "2"],
    ),
    ("Duplicates at 50,000 rows", "duplicates_scale", ["--rows", "50000"]),
    (
        "Long rows: duplicates time and audit peak memory on 10,000 rows of 300+ words",
        "long_rows_bench",
        ["--rows", "10000"],
    ),
    ("Labels: injected noise on Banking77, vocabulary, conflicts, GSM8K", "labels_bench", []),
    ("Coverage: CLINC150 and GSM8K scenarios, 10k x 10k timing", "coverage_bench", []),
    ("Coverage: production files of 10k / 100k / 1M lines (sampled before embedding)", "coverage_scale", []),
    (
        "Preference pairs: injected defects (GSM8K, Banking77; 3 seeds), length bias, KTO, 10k timing",
        "preference_bench",
        [],
    ),
    ("Sensitive data on the real datasets", "sensitive_scan", []),
    ("Tokenizing a 10,000-row chat set for each target", "tokenize_bench", ["--rows", "10000"]),
    ("Peak memory, 200,000-row audit", "memory_bench", ["--rows", "200000"]),
    ("Scale: 5k-200k distinct Banking77/CLINC rows with 3k production (ANN past 50k)", "scale_bench", []),
    ("Embedding throughput: batch size, length sorting, threads, int8", "throughput_bench", []),
    ("Against cleanlab Datalab on the same embeddings (Banking77 train 10k)", "cleanlab_compare", []),
    ("Loading speed per dialect (100,000 GSM8K rows)", "load_bench", ["--rows", "100000"]),
    ("Soak: concurrent audits on one cache with random kill -9", "soak", ["--workers", "8", "--rounds", "3"]),
]
QUICK = {"embedding_bench", "gate_bench", "duplicates_bench"}


def machine() -> str:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    memory = (
        next(
            (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")),
            "?",
        )
        if Path("/proc/meminfo").exists()
        else "?"
    )
    versions = ", ".join(
        f"{p} {metadata.version(p)}"
        for p in ("torch", "onnxruntime", "sentence-transformers", "polars", "scikit-learn", "great-expectations")
    )
    return (
        f"- {os.cpu_count()} cores ({cpu}), {int(memory) / 1024 / 1024:.0f} GiB memory, no GPU\n"
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}\n- {versions}\n"
        f"- load average at start: {os.getloadavg()[0]:.2f}\n"
    )


def run_section(module: str, args: list[str]) -> str:
    buffer = io.StringIO()
    argv = sys.argv
    sys.argv = [module, *args]
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(buffer):
            import_module(f"bench.{module}").main()
    except SystemExit as exc:
        buffer.write(f"(stopped: {exc})\n")
    finally:
        sys.argv = argv
    return buffer.getvalue() + f"(section took {time.perf_counter() - started:.0f}s)\n"


def existing_sections(target: Path) -> dict[str, str]:
    """Title -> body of each section already in RESULTS.md (kept when only some sections are rerun)."""
    if not target.exists():
        return {}
    parts = target.read_text(encoding="utf-8").split("\n## ")[1:]
    return {part.split("\n", 1)[0]: part.split("\n", 1)[1].strip("\n") for part in parts}


def main() -> None:
    """`python -m bench` runs every section; `--quick` the fast ones; `--only a,b` reruns the named
    modules and keeps every other section of RESULTS.md as it was (each section says when it ran)."""
    quick = "--quick" in sys.argv
    only = next(
        (
            a.split("=", 1)[1] if "=" in a else sys.argv[i + 2]
            for i, a in enumerate(sys.argv[1:])
            if a.startswith("--only")
        ),
        "",
    )
    wanted = {m.strip() for m in only.split(",") if m.strip()}
    target = Path(__file__).with_name("RESULTS.md")
    kept = existing_sections(target) if wanted else {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = [
        "# ftaudit benchmark results",
        "",
        f"Written by `python -m bench` (last: {' '.join(sys.argv[1:]) or 'all sections'}) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}; each section says when it ran.",
        "",
        "## Machine",
        "",
        machine(),
    ]
    for title, module, args in SECTIONS:
        if (quick and module not in QUICK) or (wanted and module not in wanted):
            if title in kept:
                out += [f"## {title}", "", kept[title], ""]
            continue
        print(f"== {title}", flush=True)
        text = run_section(module, args)
        print(text, flush=True)
        stamp = f"Ran {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {commit} (load {os.getloadavg()[0]:.2f})."
        out += [f"## {title}", "", stamp, "", "```", text.rstrip(), "```", ""]
    titles = {title for title, _, _ in SECTIONS} | {"Machine"}
    out += [part for title, body in kept.items() if title not in titles for part in (f"## {title}", "", body, "")]
    target.write_text("\n".join(out), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
