"""Security headers on pages, API answers, files and errors; the pages carry no
inline script (the CSP forbids it, so the pages must not need it)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient
from vigie.base.clock import SimulatedClock
from vigie.base.settings import Settings
from vigie.control.app import create_app
from vigie.control.security_headers import content_security_policy, style_hashes

TEMPLATES = Path(__file__).parents[3] / "src" / "vigie" / "control" / "web" / "templates"
HTML = {"accept": "text/html"}
PATHS = ["/login", "/api/i18n", "/api/auth/me", "/static/vigie.css", "/nowhere", "/api/docs"]


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_carries_the_headers(api: ApiClient, path: str) -> None:
    r = api.get(path, headers=HTML)
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in r.headers  # plain HTTP
    csp = directives(r.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert not any("unsafe" in v for values in csp.values() for v in values)


def test_policy_names_the_media_processes(api: ApiClient, settings: Settings) -> None:
    """Live tiles and playback talk to media processes directly (ws://host:port),
    snapshots are images from there, the players use blob: URLs (MSE)."""
    csp = directives(api.get("/login").headers["content-security-policy"])
    port = settings.media_base_port
    assert f"ws://testserver:{port}" in csp["connect-src"]
    assert f"http://testserver:{port}" in csp["img-src"]
    assert "blob:" in csp["media-src"]


def test_policy_uses_the_public_media_host(
    settings: Settings, session_factory: sessionmaker[Session], clock: SimulatedClock
) -> None:
    public = settings.model_copy(
        update={"media_public_host": "media.cmsu.example", "media_processes": 2}
    )
    app = create_app(public, sessions=session_factory, background=False, clock=clock)
    with TestClient(app) as client:
        csp = directives(client.get("/login").headers["content-security-policy"])
    port = settings.media_base_port
    for p in (port, port + 1):
        assert f"ws://media.cmsu.example:{p}" in csp["connect-src"]


def test_hostile_host_header_is_not_written_into_the_policy(api: ApiClient) -> None:
    r = api.get("/login", headers={"host": "evil; script-src *"})
    policy = r.headers["content-security-policy"]
    assert "evil" not in policy
    assert directives(policy)["script-src"] == ["'self'"]


def test_hsts_only_over_tls(
    settings: Settings, session_factory: sessionmaker[Session], clock: SimulatedClock
) -> None:
    app = create_app(settings, sessions=session_factory, background=False, clock=clock)
    with TestClient(app, base_url="https://testserver") as tls:
        r = tls.get("/login")
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert (
            f"wss://testserver:{settings.media_base_port}" in r.headers["content-security-policy"]
        )
    with TestClient(app) as plain:  # a client's own X-Forwarded-Proto is not believed
        r = plain.get("/login", headers={"x-forwarded-proto": "https"})
        assert "strict-transport-security" not in r.headers


def test_report_style_sheet_is_allowed_by_its_hash_only() -> None:
    html = "<html><head><style>h1 { color: red; }</style></head><body><h1>x</h1></body></html>"
    [digest] = style_hashes(html)
    body = hashlib.sha256(b"h1 { color: red; }").digest()
    assert digest == "sha256-" + base64.b64encode(body).decode()
    csp = directives(content_security_policy(style_hashes=[digest]))
    assert csp["style-src"] == ["'self'", f"'{digest}'"]
    assert csp["script-src"] == ["'self'"]


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_handler_or_style(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b([^>]*)>", source)
    for attrs in scripts:  # a script is a file, or data the scripts read (not run)
        assert "src=" in attrs or 'type="application/json"' in attrs, (template.name, attrs)
    assert not re.search(r"\son[a-z]+\s*=", source), template.name
    assert not re.search(r"\sstyle\s*=", source), template.name
    assert "<style" not in source, template.name
