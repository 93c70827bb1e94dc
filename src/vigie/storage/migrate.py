"""Alembic, driven from code: ``vigie db upgrade`` and the test fixtures call this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head", *, secret_key: str | None = None) -> None:
    """``secret_key``: VIGIE_SECRET_KEY, for migrations that encrypt stored secrets
    (0008: camera credentials); needed only when there is something to encrypt."""
    cfg = alembic_config(url)
    cfg.attributes["secret_key"] = secret_key
    command.upgrade(cfg, revision)


def downgrade(url: str, revision: str, *, secret_key: str | None = None) -> None:
    cfg = alembic_config(url)
    cfg.attributes["secret_key"] = secret_key
    command.downgrade(cfg, revision)
