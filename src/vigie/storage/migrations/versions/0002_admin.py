"""admin: inventory, surveys, catalogue, scenarios, subsidies

Tables of vigie.admin.models (all prefixed ``admin_``); money is Numeric(14, 2).

Revision ID: 0002_admin
Revises: 0001_core
Create Date: 2026-11-26 17:40:37.378305
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigie.storage.types

revision = "0002_admin"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_catalogue_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("label"),
    )
    op.create_table(
        "admin_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "admin_survey_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("opens_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "admin_catalogue_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=False),
        sa.Column("unit_cost_eur_per_year", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["admin_catalogue_versions.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "code", name="uq_admin_catalogue_item"),
    )
    op.create_table(
        "admin_inventory_authorisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("camera_count", sa.Integer(), nullable=False),
        sa.Column("retention_days_max", sa.Integer(), nullable=False),
        sa.Column("imported_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_inventory_authorisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_inventory_authorisations_commune_insee"),
            ["commune_insee"],
            unique=False,
        )

    op.create_table(
        "admin_inventory_cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("mount", sa.String(length=20), nullable=False),
        sa.Column("transport", sa.String(length=10), nullable=False),
        sa.Column("codec", sa.String(length=20), nullable=False),
        sa.Column("width_px", sa.Integer(), nullable=True),
        sa.Column("height_px", sa.Integer(), nullable=True),
        sa.Column("fps", sa.Integer(), nullable=True),
        sa.Column("installed_year", sa.Integer(), nullable=True),
        sa.Column("maker", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("close_up", sa.Boolean(), nullable=False),
        sa.Column("imported_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_inventory_cameras", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_inventory_cameras_commune_insee"), ["commune_insee"], unique=False
        )

    op.create_table(
        "admin_inventory_csu",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("staffed_hours_per_week", sa.Integer(), nullable=False),
        sa.Column("staff_count", sa.Integer(), nullable=False),
        sa.Column("pooled", sa.Boolean(), nullable=False),
        sa.Column("opened_year", sa.Integer(), nullable=True),
        sa.Column("imported_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_inventory_csu", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_inventory_csu_commune_insee"), ["commune_insee"], unique=False
        )

    op.create_table(
        "admin_inventory_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("bandwidth_mbps", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("imported_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_inventory_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_inventory_links_commune_insee"), ["commune_insee"], unique=False
        )

    op.create_table(
        "admin_inventory_recorders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("maker", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("storage_tb", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("installed_year", sa.Integer(), nullable=True),
        sa.Column("imported_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_inventory_recorders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_inventory_recorders_commune_insee"),
            ["commune_insee"],
            unique=False,
        )

    op.create_table(
        "admin_subsidy_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("eligible_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("total_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("other_subsidies", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("priority", sa.Boolean(), nullable=False),
        sa.Column("multi_commune", sa.Boolean(), nullable=False),
        sa.Column("programme", sa.String(length=50), nullable=False),
        sa.Column("rate_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("limited_by", sa.String(length=20), nullable=False),
        sa.Column("computed_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_subsidy_projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_subsidy_projects_commune_insee"), ["commune_insee"], unique=False
        )

    op.create_table(
        "admin_survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("updated_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("submitted_at", vigie.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["admin_survey_campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "commune_insee", name="uq_admin_survey_response"),
    )
    with op.batch_alter_table("admin_survey_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_survey_responses_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_admin_survey_responses_commune_insee"), ["commune_insee"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_survey_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_survey_responses_commune_insee"))
        batch_op.drop_index(batch_op.f("ix_admin_survey_responses_campaign_id"))

    op.drop_table("admin_survey_responses")
    with op.batch_alter_table("admin_subsidy_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_subsidy_projects_commune_insee"))

    op.drop_table("admin_subsidy_projects")
    with op.batch_alter_table("admin_inventory_recorders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_inventory_recorders_commune_insee"))

    op.drop_table("admin_inventory_recorders")
    with op.batch_alter_table("admin_inventory_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_inventory_links_commune_insee"))

    op.drop_table("admin_inventory_links")
    with op.batch_alter_table("admin_inventory_csu", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_inventory_csu_commune_insee"))

    op.drop_table("admin_inventory_csu")
    with op.batch_alter_table("admin_inventory_cameras", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_inventory_cameras_commune_insee"))

    op.drop_table("admin_inventory_cameras")
    with op.batch_alter_table("admin_inventory_authorisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_inventory_authorisations_commune_insee"))

    op.drop_table("admin_inventory_authorisations")
    op.drop_table("admin_catalogue_items")
    op.drop_table("admin_survey_campaigns")
    op.drop_table("admin_scenarios")
    op.drop_table("admin_catalogue_versions")
