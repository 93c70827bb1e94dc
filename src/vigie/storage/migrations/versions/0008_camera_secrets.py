"""camera secrets sealed: credential-free stream URLs, password and credential
query parameters encrypted (cameras.password -> cameras.secrets_sealed)

Every camera's URLs lose their userinfo and credential query parameters
(``user``, ``password``, ``token``… see ``vigie.base.redact``); the password
and those parameters are sealed with AES-GCM under a key derived from
VIGIE_SECRET_KEY (``vigie.domain.secretbox``), which the migration gets from
``vigie db upgrade`` / ``vigie serve`` / ``vigie restore`` (``secret_key``
attribute of the Alembic config). Without it the migration stops, unless no
camera has a secret to seal.

Revision ID: 0008_camera_secrets
Revises: 0007_privacy_masks
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from vigie.base.redact import UrlCredentials, join_credentials, strip_credentials
from vigie.domain.cameras import CameraSecrets
from vigie.domain.secretbox import SecretBox

revision = "0008_camera_secrets"
down_revision = "0007_privacy_masks"
branch_labels = None
depends_on = None

NO_KEY = (
    "migration 0008_camera_secrets: cameras have credentials to encrypt and no secret key "
    "was given; run `vigie db upgrade` with VIGIE_SECRET_KEY set."
)


def _strip(url: str | None) -> tuple[str | None, UrlCredentials]:
    if not url:
        return url, UrlCredentials()
    try:
        return strip_credentials(url)
    except ValueError:  # unreadable (never accepted by the API): left as it is
        return url, UrlCredentials()


def _box() -> SecretBox | None:
    secret = context.config.attributes.get("secret_key")
    return SecretBox.for_camera_secrets(secret) if secret else None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column("secrets_sealed", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, main_url, sub_url, username, password FROM cameras")
    ).all()
    box = _box()
    for cam_id, main_url, sub_url, username, password in rows:
        main_clean, main = _strip(main_url)
        sub_clean, sub = _strip(sub_url)
        secrets = CameraSecrets(
            password or main.password or sub.password, {"main": main.query, "sub": sub.query}
        )
        if secrets and box is None:
            raise RuntimeError(NO_KEY)
        user = username or main.username or sub.username
        conn.execute(
            sa.text(
                "UPDATE cameras SET main_url = :m, sub_url = :s, username = :u, "
                "secrets_sealed = :sealed WHERE id = :id"
            ),
            {"m": main_clean, "s": sub_clean, "u": user, "id": cam_id,
             "sealed": secrets.seal(box) if box is not None else None},
        )  # fmt: skip
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("password")


def downgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column("password", sa.String(length=200), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, main_url, sub_url, secrets_sealed FROM cameras")).all()
    box = _box()
    for cam_id, main_url, sub_url, sealed in rows:
        if not sealed:
            continue
        if box is None:
            raise RuntimeError(NO_KEY.replace("encrypt", "decrypt"))
        secrets = CameraSecrets.open(box, sealed)
        conn.execute(
            sa.text("UPDATE cameras SET main_url = :m, sub_url = :s, password = :p WHERE id = :id"),
            {"id": cam_id, "p": secrets.password,
             "m": join_credentials(main_url, None, None, secrets.query.get("main", ())),
             "s": join_credentials(sub_url, None, None, secrets.query.get("sub", ()))
             if sub_url else None},
        )  # fmt: skip
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("secrets_sealed")
