"""ftaudit: is this data ready for fine-tuning, or should prompting stay?"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["audit", "__version__"]


def audit(*args: Any, **kwargs: Any) -> Any:
    """Audit a training set; see auditor.api.audit."""
    from auditor.api import audit as run_audit

    return run_audit(*args, **kwargs)
