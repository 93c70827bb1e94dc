"""Imports every module that declares models, so that Alembic sees one metadata.

A domain that adds tables adds its import here.
"""

from __future__ import annotations

from vigie.admin import models as admin_models  # noqa: F401
from vigie.continuity import models as continuity_models  # noqa: F401
from vigie.recording import models as recording_models  # noqa: F401
from vigie.storage import models

metadata = models.Base.metadata

__all__ = ["metadata"]
