"""Where the templates, static files, translations and migrations are.

They are kept at the top of the checkout (``templates/``, ``static/``, ``translations/``,
``migrations/``). A wheel carries copies inside the package (the build step in
``setup.py``), so an installed voiceapp finds them next to its code; a checkout or an
editable install finds the top-level folders.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = ("templates", "static", "translations", "migrations")


def folder(name: str) -> Path:
    """The folder ``name`` (one of :data:`SHIPPED`): inside the package when installed,
    else at the top of the checkout."""
    if name not in SHIPPED:
        raise ValueError(f"{name} is not shipped with voiceapp")
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name
