"""Names derived from Airflow run ids: safe in topic names, group ids, paths and files."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^a-z0-9]+")


def slug(value: str, max_length: int = 48) -> str:
    """``manual__2026-11-26T13:03:18.1+00:00`` -> ``manual-20261126t130318-1a2b3c``.

    Lower case, digits and dashes only; a short digest keeps distinct inputs distinct
    after truncation.
    """
    text = _UNSAFE.sub("-", value.lower().replace(":", "").replace("-", "")).strip("-")
    digest = hashlib.sha256(value.encode()).hexdigest()[:6]
    return f"{text[: max_length - 7].rstrip('-')}-{digest}"
