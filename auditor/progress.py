"""A progress line per stage on stderr (rich), so that no stage of an audit runs silently.

Shown only when asked for (not `--quiet`) and stderr is a terminal; the runner calls the hook before
and after each check.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

Hook = Callable[[str, Any], None]  # (stage, None) when it starts, (stage, result or "done") when it ends


class StageProgress:
    """A spinner naming the running stage with its elapsed time, then one line per finished stage."""

    def __init__(self, stream: Any = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr, highlight=False)
        self.status: Any = None
        self.started = 0.0

    def __call__(self, stage: str, result: Any) -> None:
        if result is None:
            self.started = time.perf_counter()
            self.status = self.console.status(f"{stage}…", spinner="dots")
            self.status.start()
            return
        if self.status is not None:
            self.status.stop()
            self.status = None
        seconds = time.perf_counter() - self.started
        status = getattr(result, "status", "")
        self.console.print(f"[dim]✓ {stage}{f' ({status})' if status else ''} {seconds:.1f}s[/dim]")


def stage_progress(quiet: bool, stream: Any = None) -> Hook | None:
    """The hook to pass to the runner: None when quiet or when stderr is not a terminal."""
    target = stream or sys.stderr
    if quiet or not getattr(target, "isatty", lambda: False)():
        return None
    return StageProgress(target)
