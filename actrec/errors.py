"""Errors raised where input enters actrec.

Every message is one line that names the file, row or sample at fault and says what to do, so
the CLI can print it without a traceback.
"""


class ActrecError(Exception):
    """Base of every error actrec raises on purpose.

    Messages quote what users wrote (labels, cells, ids); a line break in it is shown escaped, so
    the message stays one line whatever the file held."""

    def __init__(self, message: object = "") -> None:
        super().__init__(str(message).replace("\r", "\\r").replace("\n", "\\n"))


class DataError(ActrecError, ValueError):
    """Input data is malformed: missing columns, ragged ids, NaNs, empty sequences, bad shapes."""


class ConfigError(ActrecError, ValueError):
    """An option or configuration value does not exist or does not fit the data."""


class ModelFileError(ActrecError):
    """A saved model is missing, truncated, foreign, or tries to carry code."""


class TrainingInterrupted(ActrecError):
    """A fit stopped by SIGINT (Ctrl-C) or SIGTERM before its last epoch. The run is not published;
    `checkpoint` (None if no epoch had finished) is where `--resume` picks it up. `exit_code`
    follows the shell's convention: 128 + the signal's number."""

    def __init__(self, message: str, signal_name: str, checkpoint: str | None) -> None:
        super().__init__(message)
        self.signal_name = signal_name
        self.checkpoint = checkpoint
        self.exit_code = 130 if signal_name == "SIGINT" else 143


def first_line(error: BaseException) -> str:
    """The first non-blank line of `error`'s message, or its type's name when the message is empty
    (a library error raised without text must still give a one-line message, not an IndexError)."""
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
