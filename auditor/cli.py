"""Command line: parse, call the library, render; exit 0 (report produced), 1 (gate failed), 2 (usage or input
error)."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from auditor import __version__
from auditor.formats import FORMATS
from auditor.providers import PROVIDERS
from auditor.report.registry import RENDERERS

EXIT_OK, EXIT_GATE, EXIT_USAGE = 0, 1, 2
RENDERER_NAMES = list(RENDERERS)


def fail(message: str) -> NoReturn:
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


class Main(click.Group):
    """The command group, ending on SIGINT/SIGTERM with one line and exit 130/143 (not click's 'Aborted!', exit 1)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from auditor.guards import Interrupted, clean_up, install_signal_handlers, restore_signal_handlers

        previous = install_signal_handlers()
        try:
            return super().main(*args, **kwargs)
        except (Interrupted, KeyboardInterrupt) as exc:
            clean_up()
            click.echo("ftaudit: interrupted", err=True)
            sys.exit(exc.exit_code if isinstance(exc, Interrupted) else 130)
        finally:
            restore_signal_handlers(previous)


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
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


def build_overrides(
    fields: tuple[str, ...],
    data_format: str | None,
    model: str | None,
    cache_dir: str | None,
    no_cache: bool,
    context: tuple[str, ...],
) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {
        "load": parse_fields(fields),
        "embedding": {},
        "context": parse_context(context),
    }
    if data_format:
        overrides["load"]["data_format"] = data_format
    meta = click.get_current_context().meta if click.get_current_context(silent=True) else {}
    if meta.get("encoding"):
        overrides["load"]["encoding"] = meta["encoding"]
    if meta.get("provider"):
        overrides["provider"] = {"name": meta["provider"]}
    tokens = {
        key: meta[name]
        for name, key in (("target", "target"), ("max_seq_len", "max_seq_len"), ("truncation", "truncation"))
        if meta.get(name) is not None
    }
    if tokens:
        from auditor.targets import TargetError, resolve_target

        try:
            resolve_target(str(tokens.get("target", "openai-cl100k")))
        except TargetError as exc:
            fail(f"--target: {exc}")
        overrides["tokens"] = tokens
    if model:
        overrides["embedding"]["model"] = model
    if cache_dir:
        overrides["embedding"]["cache_dir"] = cache_dir
    if no_cache:
        overrides["embedding"]["use_cache"] = False
    return overrides


def to_meta(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None and param.name:
        ctx.meta[param.name] = value


def shared_options(command: Any) -> Any:
    options = [
        click.option(
            "--production", metavar="FILE", help="Sample of real production inputs (any supported format, or .txt)."
        ),
        click.option("--eval", "eval_file", metavar="FILE", help="Evaluation split, checked for leakage."),
        click.option(
            "--config",
            "config_file",
            metavar="FILE",
            help="Config file (default: nearest ftaudit.toml or pyproject [tool.ftaudit]).",
        ),
        click.option(
            "--context",
            "context",
            multiple=True,
            metavar="KEY=VALUE",
            help="Decision context, e.g. monthly_volume=250000, prompt_baseline_accuracy=72%.",
        ),
        click.option(
            "--model", metavar="M", help="Sentence-transformers model path (default: bundled all-MiniLM-L6-v2)."
        ),
        click.option(
            "--cache-dir",
            metavar="DIR",
            help="Embedding cache folder (default: $FTAUDIT_CACHE_DIR, else the user cache folder).",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the embedding cache."),
        click.option(
            "--data-format",
            type=click.Choice(["auto", *FORMATS]),
            help="Record format of the training file (default: detected).",
        ),
        click.option(
            "--encoding",
            expose_value=False,
            callback=to_meta,
            metavar="NAME",
            help="Text encoding of CSV/JSONL/TXT inputs (default UTF-8), e.g. cp1252 for an Excel CSV.",
        ),
        click.option(
            "--provider",
            expose_value=False,
            callback=to_meta,
            type=click.Choice(PROVIDERS),
            help="Check the provider's published dataset rules (default: [provider] name, generic).",
        ),
        click.option(
            "--target",
            expose_value=False,
            callback=to_meta,
            metavar="NAME|PATH",
            help="Model the data will train (`ftaudit targets`), or a local Hugging Face tokenizer directory.",
        ),
        click.option(
            "--max-seq-len",
            expose_value=False,
            callback=to_meta,
            type=click.IntRange(min=1),
            metavar="N",
            help="Trainer's maximum sequence length (default: the target's).",
        ),
        click.option(
            "--truncation",
            expose_value=False,
            callback=to_meta,
            type=click.Choice(["keep_start", "keep_end", "drop", "prompt_first"]),
            help="What the trainer does with longer rows (default: the target's).",
        ),
        click.option(
            "--field",
            "fields",
            multiple=True,
            metavar="ROLE=NAME",
            help="Map a field: input=NAME, output=NAME, label=NAME.",
        ),
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
    except MemoryError as exc:
        fail(
            f"out of memory {exc or 'during the audit'}; free memory, raise the limit (ulimit -v) "
            "or audit a smaller file"
        )
    except Exception as exc:  # a bug must still end in one line, not a traceback
        if os.environ.get("FTAUDIT_DEBUG"):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc} (set FTAUDIT_DEBUG=1 for the traceback)")


def render(report: Any, output_format: str, to_terminal: bool) -> str:
    from auditor.report.registry import renderer

    data = report if isinstance(report, dict) else report.to_dict()
    color = to_terminal and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return renderer(output_format).render(data, color=color)


@main.command()
@click.argument("train")
@shared_options
@click.option("--format", "output_format", type=click.Choice(RENDERER_NAMES), default="terminal", show_default=True)
@click.option("-o", "--output", metavar="PATH", help="Write the report here (atomically); '-' is stdout (the default).")
@click.option("--annotate", metavar="PATH", help="Write one JSON line per input row with per-row findings.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where embeddings are computed: this process, or Ray Data workers (pip install 'ftaudit[ray]').",
)
def audit(
    train: str,
    production: str | None,
    eval_file: str | None,
    config_file: str | None,
    context: tuple[str, ...],
    model: str | None,
    cache_dir: str | None,
    no_cache: bool,
    data_format: str | None,
    fields: tuple[str, ...],
    quiet: bool,
    output_format: str,
    output: str | None,
    annotate: str | None,
    engine: str,
) -> None:
    """Audit TRAIN (JSONL, JSON, CSV or Parquet) and rule on fine-tuning readiness."""
    overrides = build_overrides(fields, data_format, model, cache_dir, no_cache, context)
    targets: dict[str, str | None] = {}

    def guard() -> None:
        from auditor.errors import InputError
        from auditor.guards import check_input, check_outputs

        for source in (train, production, eval_file):
            if source is not None:
                check_input(source)
        targets.update(
            check_outputs((train, production, eval_file, config_file), {"-o": output, "--annotate": annotate})
        )
        if targets["--annotate"] == "-":
            raise InputError("--annotate -: annotations cannot go to standard output; give a file path")

    def action() -> None:
        from auditor.api import audit as run_audit
        from auditor.io import write_atomic

        annotate, output = targets["--annotate"], targets["-o"]
        output = None if output == "-" else output
        if engine == "ray":
            from auditor.ray_engine import prepare

            prepare(train, production, eval_file, config_file, overrides, quiet)
        report = run_audit(train, production, eval_file, config=config_file, overrides=overrides, quiet=quiet)
        text = render(report, output_format, output is None)
        if annotate:
            from auditor.annotate import to_jsonl

            write_atomic(annotate, to_jsonl(report.annotations))
        if output:
            write_atomic(output, text)
        else:
            click.echo(text, nl=False)

    guarded(guard)
    guarded(action)
    sys.exit(EXIT_OK)


@main.command()
@click.argument("files", nargs=-1)
@shared_options
def gate(
    files: tuple[str, ...],
    production: str | None,
    eval_file: str | None,
    config_file: str | None,
    context: tuple[str, ...],
    model: str | None,
    cache_dir: str | None,
    no_cache: bool,
    data_format: str | None,
    fields: tuple[str, ...],
    quiet: bool,
) -> None:
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
@click.option("--format", "output_format", type=click.Choice(RENDERER_NAMES), default="terminal", show_default=True)
@click.option("-o", "--output", metavar="PATH", help="Write here (atomically); '-' is stdout (the default).")
def render_command(report_file: str, output_format: str, output: str | None) -> None:
    """Render a saved JSON report as a scorecard, without auditing again."""
    import json
    from pathlib import Path

    from auditor.errors import InputError

    def action() -> None:
        from auditor.guards import check_input, check_outputs
        from auditor.io import write_atomic

        check_input(report_file)
        target = check_outputs((report_file,), {"-o": output})["-o"]
        target = None if target == "-" else target
        try:
            data = json.loads(Path(report_file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{report_file}: not a readable ftaudit JSON report ({exc})") from None
        if not isinstance(data, dict) or data.get("schema_version") != 1:
            raise InputError(f"{report_file}: not an ftaudit report (schema_version 1)")
        try:
            text = render(data, output_format, target is None)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{report_file}: not a valid ftaudit report ({type(exc).__name__}: {exc})") from None
        if target:
            write_atomic(target, text)
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
        from auditor.guards import check_outputs
        from auditor.io import write_atomic
        from auditor.starter import starter_config

        write_atomic(check_outputs((), {"PATH": path})["PATH"] or path, starter_config())
        click.echo(f"wrote {path}")

    guarded(action)


@main.command("targets")
def list_targets() -> None:
    """List the shipped targets: name, tokenizer source, default max sequence length."""
    from auditor.targets import SHIPPED

    for target in SHIPPED.values():
        click.echo(f"{target.name}\t{target.tokenizer}\t{target.max_seq_len}\t{target.truncation}\t{target.models}")


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
    main()
