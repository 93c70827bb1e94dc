"""privacy masks per camera (CSI L251-3)

Revision ID: 0007_privacy_masks
Revises: 0006_continuity
Create Date: 2026-11-27 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_privacy_masks"
down_revision = "0006_continuity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(
            sa.Column("privacy_masks", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("privacy_masks")
