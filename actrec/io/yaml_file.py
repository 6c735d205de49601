"""Reading a user's YAML file (configs, model lists, search spaces) with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from actrec.errors import ConfigError, first_line


def read_yaml(path: str | Path, what: str) -> Any:
    """The parsed content of `path`; ConfigError naming the file when it is absent or not YAML.

    what: what the file holds, for the message (e.g. "config file", "space file").
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({first_line(error)})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the {what} as UTF-8") from None
    except ValueError as error:  # the scanner's own, e.g. an escape beyond the last code point
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
