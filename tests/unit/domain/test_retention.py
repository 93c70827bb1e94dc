from __future__ import annotations

import pytest

from vigie.base.errors import InvalidArgument
from vigie.domain.retention import validate_retention


def test_thirty_days_is_the_legal_maximum() -> None:
    validate_retention(0, 30)
    with pytest.raises(InvalidArgument) as err:
        validate_retention(0, 31)
    assert err.value.field == "retention_max_days"
    assert "L252-5" in str(err.value)


@pytest.mark.parametrize(
    ("lo", "hi", "field"),
    [(-1, 10, "retention_min_days"), (11, 10, "retention_min_days"), (0, 0, "retention_max_days")],
)
def test_incoherent_bounds_are_refused(lo: int, hi: int, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_retention(lo, hi)
    assert err.value.field == field
