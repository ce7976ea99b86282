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
from datetime import datetime, timezone
from importlib import import_module, metadata
from pathlib import Path

SECTIONS = [
    ("Embedding backends (3,000 Banking77 texts)", "embedding_bench", ["--rows", "3000"]),
    ("Cold audit vs plain embedding (Banking77 train 10k + test 3k)", "audit_bench", []),
    ("Warm-cache gate (Banking77 train + test)", "gate_bench", ["--repeat", "3"]),
    ("Duplicates: injection benchmark (Banking77, GSM8K; 3 seeds)", "duplicates_bench", ["--seeds", "0", "1", "2"]),
    ("Duplicates at 50,000 rows", "duplicates_scale", ["--rows", "50000"]),
    ("Labels: injected noise on Banking77, vocabulary, conflicts, GSM8K", "labels_bench", []),
    ("Coverage: CLINC150 and GSM8K scenarios, 10k x 10k timing", "coverage_bench", []),
    ("Sensitive data on the real datasets", "sensitive_scan", []),
    ("Peak memory, 200,000-row audit", "memory_bench", ["--rows", "200000"]),
]
QUICK = {"embedding_bench", "gate_bench", "duplicates_bench"}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")),
                  "?") if Path("/proc/meminfo").exists() else "?"
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("torch", "onnxruntime", "sentence-transformers", "polars",
                                                                  "scikit-learn", "great-expectations"))
    return (f"- {os.cpu_count()} cores ({cpu}), {int(memory) / 1024 / 1024:.0f} GiB memory, no GPU\n"
            f"- Python {platform.python_version()} on {platform.system()} {platform.release()}\n- {versions}\n"
            f"- load average at start: {os.getloadavg()[0]:.2f}\n")


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


def main() -> None:
    quick = "--quick" in sys.argv
    out = ["# ftaudit benchmark results", "",
           f"Written by `python -m bench{' --quick' if quick else ''}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
           f"commit {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}.",
           "", "## Machine", "", machine()]
    for title, module, args in SECTIONS:
        if quick and module not in QUICK:
            continue
        print(f"== {title}", flush=True)
        text = run_section(module, args)
        print(text, flush=True)
        out += [f"## {title}", "", "```", text.rstrip(), "```", ""]
    target = Path(__file__).with_name("RESULTS.md")
    target.write_text("\n".join(out), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
