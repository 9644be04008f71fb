"""Where the data files that ship with the package live (templates/, manifest.json)."""

import json
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """Path of a shipped data file or folder, in a wheel or in a source checkout."""
    # A wheel carries them under plugin/_data/ (pyproject force-include); a checkout or an
    # editable install reads them from the repository root, where they are edited.
    for base in (_PACKAGE / "_data", _PACKAGE.parent):
        candidate = base / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{name} is missing from the installation")


@cache
def manifest() -> dict:
    """The parsed manifest.json."""
    return json.loads(data_path("manifest.json").read_text(encoding="utf-8"))
