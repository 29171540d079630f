"""User-facing errors: the CLI prints them without a traceback and exits with their code."""

from __future__ import annotations


class MedgoError(Exception):
    """An error caused by user input (config, data, paths). Exit code 2 unless stated."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\n  fix: {self.hint}" if self.hint else base


class ConfigError(MedgoError):
    """The run config is invalid: names the key path and what was expected."""


class DataError(MedgoError):
    """Input data is missing or unusable: names the file (and line or field) at fault."""
