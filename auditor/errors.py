"""Errors that stop a run with exit code 2: the user must fix an input or an option."""


class InputError(Exception):
    """A file cannot be read or understood at all (one line, no traceback)."""


class ConfigError(InputError):
    """The configuration names an unknown key or holds a value of the wrong type."""
