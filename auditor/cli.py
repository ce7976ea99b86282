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


def parse_context(values: tuple[str, ...]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for value in values:
        key, _, raw = value.partition("=")
        if not key or not raw:
            fail(f"--context takes KEY=VALUE, not '{value}'")
        text = raw.strip().lower()
        if text in ("true", "yes", "on"):
            context[key] = True
        elif text in ("false", "no", "off"):
            context[key] = False
        else:
            number = text.rstrip("%").replace("_", "").replace(",", "")
            try:
                context[key] = int(number) if number.isdigit() else float(number)
            except ValueError:
                fail(f"--context {key}: '{raw}' is not true/false or a number")
    return context


def build_overrides(fields: tuple[str, ...], data_format: str | None, model: str | None, cache_dir: str | None,
                    no_cache: bool, context: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {"load": parse_fields(fields), "embedding": {}, "context": parse_context(context)}
    if data_format:
        overrides["load"]["data_format"] = data_format
    if model:
        overrides["embedding"]["model"] = model
    if cache_dir:
        overrides["embedding"]["cache_dir"] = cache_dir
    if no_cache:
        overrides["embedding"]["use_cache"] = False
    return overrides


def shared_options(command: Any) -> Any:
    options = [
        click.option("--production", metavar="FILE", help="Sample of real production inputs (any supported format, or .txt)."),
        click.option("--eval", "eval_file", metavar="FILE", help="Evaluation split, checked for leakage."),
        click.option("--config", "config_file", metavar="FILE", help="Config file (default: nearest ftaudit.toml or pyproject [tool.ftaudit])."),
        click.option("--context", "context", multiple=True, metavar="KEY=VALUE",
                     help="Decision context, e.g. monthly_volume=250000, prompt_baseline_accuracy=72%."),
        click.option("--model", metavar="M", help="Sentence-transformers model path (default: bundled all-MiniLM-L6-v2)."),
        click.option("--cache-dir", metavar="DIR", help="Embedding cache folder (default .ftaudit-cache)."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the embedding cache."),
        click.option("--data-format", type=click.Choice(["auto", "chat", "prompt_completion", "instruction", "classification"]),
                     help="Record format of the training file (default: detected)."),
        click.option("--field", "fields", multiple=True, metavar="ROLE=NAME", help="Map a field: input=NAME, output=NAME, label=NAME."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bars."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def guarded(action: Any) -> None:
    """Run `action`; input errors and bugs end in one line on stderr and exit 2, never a traceback."""
    from auditor.errors import InputError

    try:
        action()
    except InputError as exc:
        fail(str(exc))
    except Exception as exc:  # a bug must still end in one line, not a traceback
        if os.environ.get("FTAUDIT_DEBUG"):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc} (set FTAUDIT_DEBUG=1 for the traceback)")


def render(report: Any, output_format: str, to_terminal: bool) -> str:
    data = report if isinstance(report, dict) else report.to_dict()
    if output_format == "json":
        from auditor.report.json_report import render as render_json

        return render_json(data)
    if output_format == "markdown":
        from auditor.report.markdown import render as render_markdown

        return render_markdown(data)
    if output_format == "html":
        from auditor.report.html_report import render as render_html

        return render_html(data)
    from auditor.report.terminal import render as render_terminal

    return render_terminal(data, color=to_terminal and sys.stdout.isatty() and "NO_COLOR" not in os.environ)


@main.command()
@click.argument("train")
@shared_options
@click.option("--format", "output_format", type=click.Choice(["terminal", "json", "markdown", "html"]), default="terminal",
              show_default=True)
@click.option("-o", "--output", metavar="PATH", help="Write the report here (atomically) instead of stdout.")
@click.option("--annotate", metavar="PATH", help="Write one JSON line per input row with per-row findings.")
def audit(train: str, production: str | None, eval_file: str | None, config_file: str | None, context: tuple[str, ...],
          model: str | None, cache_dir: str | None, no_cache: bool, data_format: str | None, fields: tuple[str, ...],
          quiet: bool, output_format: str, output: str | None, annotate: str | None) -> None:
    """Audit TRAIN (JSONL, JSON, CSV or Parquet) and rule on fine-tuning readiness."""
    overrides = build_overrides(fields, data_format, model, cache_dir, no_cache, context)

    def action() -> None:
        from auditor.api import audit as run_audit
        from auditor.io import write_atomic

        report = run_audit(train, production, eval_file, config=config_file, overrides=overrides, quiet=quiet)
        text = render(report, output_format, output is None)
        if annotate:
            from auditor.annotate import to_jsonl

            write_atomic(annotate, to_jsonl(report.annotations))
        if output:
            write_atomic(output, text)
        else:
            click.echo(text, nl=False)

    guarded(action)
    sys.exit(EXIT_OK)


@main.command()
@click.argument("files", nargs=-1)
@shared_options
def gate(files: tuple[str, ...], production: str | None, eval_file: str | None, config_file: str | None,
         context: tuple[str, ...], model: str | None, cache_dir: str | None, no_cache: bool, data_format: str | None,
         fields: tuple[str, ...], quiet: bool) -> None:
    """Pass or fail training FILES (or the config's gate.train) against the config's gate policy."""
    overrides = build_overrides(fields, data_format, model, cache_dir, no_cache, context)
    failed: list[str] = []

    def action() -> None:
        from auditor.gate import run_gate

        for line, ok in run_gate(files, production, eval_file, config_file, overrides, quiet):
            click.echo(line)
            if not ok:
                failed.append(line)

    guarded(action)
    sys.exit(EXIT_GATE if failed else EXIT_OK)


@main.command("render")
@click.argument("report_file", metavar="REPORT.json")
@click.option("--format", "output_format", type=click.Choice(["terminal", "json", "markdown", "html"]), default="terminal",
              show_default=True)
@click.option("-o", "--output", metavar="PATH", help="Write here (atomically) instead of stdout.")
def render_command(report_file: str, output_format: str, output: str | None) -> None:
    """Render a saved JSON report as a scorecard, without auditing again."""
    import json
    from pathlib import Path

    from auditor.errors import InputError

    def action() -> None:
        from auditor.io import write_atomic

        try:
            data = json.loads(Path(report_file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{report_file}: not a readable ftaudit JSON report ({exc})") from None
        if not isinstance(data, dict) or data.get("schema_version") != 1:
            raise InputError(f"{report_file}: not an ftaudit report (schema_version 1)")
        text = render(data, output_format, output is None)
        if output:
            write_atomic(output, text)
        else:
            click.echo(text, nl=False)

    guarded(action)


@main.command()
@click.argument("path", default="ftaudit.toml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented starter config (default ./ftaudit.toml)."""
    from pathlib import Path

    if Path(path).exists() and not force:
        fail(f"{path}: already exists (use --force to overwrite)")

    def action() -> None:
        from auditor.io import write_atomic
        from auditor.starter import starter_config

        write_atomic(path, starter_config())
        click.echo(f"wrote {path}")

    guarded(action)


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
