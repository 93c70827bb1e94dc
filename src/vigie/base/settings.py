"""Typed, closed configuration. Unknown keys are refused; defaults live here.

Settings come from environment variables prefixed ``VIGIE_`` (e.g.
``VIGIE_DATA_DIR``). The placeholder secret is refused in every mode (the
demo makes its own secret key at its first start).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-demo-only"
# Where `vigie demo` keeps the secret key it made, in its data directory.
DEMO_SECRET_FILE = "demo-secret.key"
# The media processes' internal API (stream list, stats, revocation, keyframes)
# listens on loopback only, never on the address browsers reach.
MEDIA_INTERNAL_HOST = "127.0.0.1"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIE_", extra="forbid")

    data_dir: Path = Field(Path("var"), description="Where the database, keys and media live.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means SQLite (WAL) in data_dir/vigie.db."
    )
    host: str = Field("127.0.0.1", description="Address the web server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port of the web server.")
    media_host: str = Field(
        "127.0.0.1", description="Address media processes serve browsers on (live, snapshots)."
    )
    media_base_port: int = Field(
        8100, ge=1, le=65535, description="Media process i listens on media_base_port + i."
    )
    media_internal_base_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Media process i serves its internal API (driven by the control plane) "
        "on 127.0.0.1 only, port media_internal_base_port + i; 0 = the ports right after "
        "the public ones (media_base_port + media_processes + i).",
    )
    media_public_host: str = Field(
        "", description="Host browsers use to reach media processes; empty = the page's host."
    )
    media_processes: int = Field(1, ge=1, le=256, description="Number of media processes.")
    streams_per_process: int = Field(
        64, ge=1, le=128, description="Upper bound of streams ingested by one media process."
    )
    secret_key: str = Field(
        PLACEHOLDER_SECRET,
        description="Signs sessions and live tickets; shared with media processes.",
    )
    ticket_ttl_s: int = Field(30, ge=5, le=600, description="Lifetime of a live ticket.")
    demo: bool = Field(
        False, description="Demo mode (set by `vigie demo`, which makes its own secret key)."
    )
    totp_required: bool = Field(
        True,
        description="Require a TOTP second factor for every role that sees images "
        "(without it, such accounts sign in but are shown no image until enrolled).",
    )
    admin_image_access: bool = Field(
        False,
        description="Let metropolitan administrators see images (off: technical role only).",
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        le=100,
        description="Consecutive failed sign-ins before an account is locked "
        "for that client address (and pauses for every address).",
    )
    login_lockout_s: int = Field(
        900, ge=10, description="How long an account stays locked for the address that failed."
    )
    login_backoff_max_s: int = Field(
        60,
        ge=1,
        le=900,
        description="Longest pause of an account (any address) after repeated failures; "
        "the pause doubles from 1 s at each failure past login_max_failures.",
    )
    session_max_age_s: int = Field(12 * 3600, ge=300, description="Lifetime of a sign-in session.")
    log_level: str = Field("INFO", description="Python logging level.")
    smtp_host: str = Field("", description="SMTP relay for alarm e-mails; empty: no e-mail.")
    smtp_port: int = Field(25, ge=1, le=65535, description="Port of the SMTP relay.")
    smtp_sender: str = Field("vigie@localhost", description="From address of alarm e-mails.")
    smtp_starttls: bool = Field(False, description="Use STARTTLS with the SMTP relay.")
    alarm_escalate_after_s: int = Field(
        600, ge=60, description="Unacknowledged alarms escalate after this many seconds."
    )
    image_checks: bool = Field(
        True, description="`vigie serve` also runs `vigie checks` (camera image checks)."
    )
    metrics_token: str = Field(
        "", description="Bearer token for /metrics; empty: /metrics only from 127.0.0.1."
    )

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> Settings:
        # Not even in demo mode: the placeholder is public, anything signed with it
        # (sessions, live tickets) could be forged by anyone.
        if self.secret_key == PLACEHOLDER_SECRET or len(self.secret_key) < 32:
            raise ValueError(
                "VIGIE_SECRET_KEY must be set to a random value of at least 32 characters "
                "(e.g. `python3 -c 'import secrets; print(secrets.token_hex(32))'`)."
            )
        return self

    @model_validator(mode="after")
    def _media_ports_apart(self) -> Settings:
        n = self.media_processes
        public = range(self.media_base_port, self.media_base_port + n)
        internal = range(self.media_internal_port(0), self.media_internal_port(0) + n)
        if public[-1] > 65535 or internal[-1] > 65535:
            raise ValueError(
                f"media ports run past 65535 ({n} processes): lower VIGIE_MEDIA_BASE_PORT "
                "or VIGIE_MEDIA_INTERNAL_BASE_PORT."
            )
        if set(public) & set(internal):
            raise ValueError(
                f"VIGIE_MEDIA_INTERNAL_BASE_PORT={self.media_internal_base_port}: the internal "
                f"ports {internal[0]}–{internal[-1]} overlap the public media ports "
                f"{public[0]}–{public[-1]}; choose another base or 0 (right after them)."
            )
        return self

    def media_internal_port(self, index: int) -> int:
        """Port of media process ``index``'s internal API (on 127.0.0.1 only)."""
        base = self.media_internal_base_port or self.media_base_port + self.media_processes
        return base + index

    def media_internal_url(self, index: int) -> str:
        return f"http://{MEDIA_INTERNAL_HOST}:{self.media_internal_port(index)}"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vigie.db').resolve()}"
