from __future__ import annotations

from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.errors import ConfigError


def test_defaults_include_every_check(isolated_config: Path) -> None:
    config = load_config()
    assert config.source == "defaults"
    assert config.section("size")["preferred_from"] == 500
    assert config.section("format")["max_output_chars"] == 16000


def test_ftaudit_toml_found_upwards(isolated_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated_config / "ftaudit.toml").write_text("[size]\npreferred_from = 400\n")
    nested = isolated_config / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    config = load_config()
    assert config.section("size")["preferred_from"] == 400
    assert config.source.endswith("ftaudit.toml")


def test_pyproject_tool_table(isolated_config: Path) -> None:
    (isolated_config / "pyproject.toml").write_text(
        "[project]\nname='x'\n[tool.ftaudit.format]\nmax_invalid_share = 0.5\n"
    )
    assert load_config().section("format")["max_invalid_share"] == 0.5


@pytest.mark.parametrize(
    "text, message",
    [
        ("[size]\npreferred_form = 400\n", "unknown config key 'size.preferred_form'"),
        ("[sise]\npreferred_from = 400\n", "unknown config section 'sise'"),
        ("[size]\npreferred_from = 'many'\n", "'size.preferred_from' must be int"),
        ("[size\n", "invalid TOML"),
    ],
)
def test_bad_config_is_an_error_naming_the_key(isolated_config: Path, text: str, message: str) -> None:
    path = isolated_config / "custom.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_command_line_overrides_win(isolated_config: Path) -> None:
    (isolated_config / "ftaudit.toml").write_text("[embedding]\nbatch_size = 8\n")
    config = load_config(overrides={"embedding": {"batch_size": 16}})
    assert config.section("embedding")["batch_size"] == 16
