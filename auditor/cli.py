"""Command line: parse, call the library, render, return 0 (report produced), 1 (gate failed), 2 (usage or input error)."""
from __future__ import annotations

import os
import sys
from typing import Any

import click

from auditor import __version__

EXIT_OK, EXIT_GATE, EXIT_USAGE = 0, 1, 2


def fail(message: str) -> None:
    click.echo(f"ftaudit: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def parse_fields(values: tuple[str, ...]) -> dict[str, str]:
    fields = {}
    for value in values:
        name, _, field = value.partition("=")
        if name not in ("input", "output", "label") or not field:
            fail(f"--field takes input=NAME, output=NAME or label=NAME, not '{value}'")
        fields[f"{name}_field"] = field
    return fields


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ftaudit")
def main() -> None:
    """Audit a fine-tuning dataset: is it ready to fine-tune on, or should prompting stay?"""


@main.command()
@click.argument("train")
@click.option("--production", metavar="FILE", help="Sample of real production inputs (any supported format, or .txt).")
@click.option("--eval", "eval_file", metavar="FILE", help="Evaluation split, checked for leakage.")
@click.option("--config", "config_file", metavar="FILE", help="Config file (default: nearest ftaudit.toml or pyproject [tool.ftaudit]).")
@click.option("--format", "output_format", type=click.Choice(["terminal", "json"]), default="terminal", show_default=True)
@click.option("-o", "--output", metavar="PATH", help="Write the report here (atomically) instead of stdout.")
@click.option("--annotate", metavar="PATH", help="Write one JSON line per input row with per-row findings.")
@click.option("--model", metavar="M", help="Sentence-transformers model path (default: bundled all-MiniLM-L6-v2).")
@click.option("--cache-dir", metavar="DIR", help="Embedding cache folder (default .ftaudit-cache).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the embedding cache.")
@click.option("--data-format", type=click.Choice(["auto", "chat", "prompt_completion", "instruction", "classification"]),
              help="Record format of the training file (default: detected).")
@click.option("--field", "fields", multiple=True, metavar="ROLE=NAME", help="Map a field: input=NAME, output=NAME, label=NAME.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def audit(train: str, production: str | None, eval_file: str | None, config_file: str | None, output_format: str,
          output: str | None, annotate: str | None, model: str | None, cache_dir: str | None, no_cache: bool,
          data_format: str | None, fields: tuple[str, ...], quiet: bool) -> None:
    """Audit TRAIN (JSONL, JSON, CSV or Parquet) and rule on fine-tuning readiness."""
    overrides: dict[str, dict[str, Any]] = {"load": parse_fields(fields), "embedding": {}}
    if data_format:
        overrides["load"]["data_format"] = data_format
    if model:
        overrides["embedding"]["model"] = model
    if cache_dir:
        overrides["embedding"]["cache_dir"] = cache_dir
    if no_cache:
        overrides["embedding"]["use_cache"] = False
    from auditor.errors import InputError

    try:
        from auditor.api import audit as run_audit
        from auditor.io import write_atomic

        report = run_audit(train, production, eval_file, config=config_file, overrides=overrides, quiet=quiet)
        data = report.to_dict()
        if output_format == "json":
            from auditor.report.json_report import render as render_json

            text = render_json(data)
        else:
            from auditor.report.terminal import render as render_terminal

            text = render_terminal(data, color=output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
        if annotate:
            from auditor.annotate import to_jsonl

            write_atomic(annotate, to_jsonl(report.annotations))
        if output:
            write_atomic(output, text)
        else:
            click.echo(text, nl=False)
    except InputError as exc:
        fail(str(exc))
    except Exception as exc:  # a bug must still end in one line, not a traceback
        if os.environ.get("FTAUDIT_DEBUG"):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc} (set FTAUDIT_DEBUG=1 for the traceback)")
    sys.exit(EXIT_OK)


@main.command("checks")
def list_checks() -> None:
    """List the checks and their finding codes."""
    from auditor.registry import REGISTRY

    for check in REGISTRY.values():
        click.echo(f"{check.ID} ({check.FAMILY})  {(check.__doc__ or '').strip().splitlines()[0]}")
        for code, title in check.CODES.items():
            click.echo(f"  {code}  {title}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation of a check, by check id (size), family (SIZE) or code (SIZE002)."""
    from auditor.registry import find_doc

    found = find_doc(code)
    if found is None:
        fail(f"no check or finding code named '{code}'; see 'ftaudit checks'")
    heading, text = found
    click.echo(f"{heading}\n\n{text}")


def run() -> None:
    try:
        main(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("ftaudit: interrupted", err=True)
        sys.exit(130)
