"""Retention rules of recorded video (CSI L252-5): pure validation, no I/O."""

from __future__ import annotations

from vigie.base.errors import InvalidArgument

# CSI L252-5: "le délai de conservation des enregistrements ne peut excéder un mois".
MAX_RETENTION_DAYS = 30
LEGAL_RULE = "CSI L252-5 : conservation d'un mois au plus (30 jours)"


def validate_retention(min_days: int, max_days: int) -> None:
    """Refuse retention bounds the law or common sense does not allow."""
    if max_days > MAX_RETENTION_DAYS:
        raise InvalidArgument(
            f"retention_max_days: {max_days} jours dépasse le maximum légal ({LEGAL_RULE}); "
            f"indiquez {MAX_RETENTION_DAYS} jours ou moins.",
            field="retention_max_days",
        )
    if max_days < 1:
        raise InvalidArgument(
            f"retention_max_days: {max_days} — la durée maximale doit être d'au moins 1 jour.",
            field="retention_max_days",
        )
    if min_days < 0 or min_days > max_days:
        raise InvalidArgument(
            f"retention_min_days: {min_days} doit être entre 0 et la durée maximale "
            f"({max_days} jours).",
            field="retention_min_days",
        )
