"""The message catalogue: every string a user reads comes from here.

Catalogues are JSON files under ``vigie/base/messages/<lang>/``; each domain
owns one file (``core.json``, ``admin.json``…) so that teams do not collide.
Keys are dotted identifiers; values are ``str.format`` templates.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

DEFAULT_LANG = "fr"


@cache
def catalogue(lang: str = DEFAULT_LANG) -> dict[str, str]:
    merged: dict[str, str] = {}
    folder = resources.files("vigie.base") / "messages" / lang
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        data = json.loads(entry.read_text(encoding="utf-8"))
        for key, value in data.items():
            if key in merged:
                raise RuntimeError(f"message key {key!r} defined twice ({entry.name})")
            merged[key] = value
    return merged


def t(key: str, /, lang: str = DEFAULT_LANG, **params: object) -> str:
    """Translate ``key``; a missing key is a bug, so it fails loudly in tests."""
    template = catalogue(lang)[key]
    return template.format(**params) if params else template


def has(key: str, lang: str = DEFAULT_LANG) -> bool:
    return key in catalogue(lang)
