"""Signed export manifests (Ed25519) and their verification.

The key pair lives in ``<data_dir>/keys/export_ed25519.pem`` (created on first
use, mode 0600); the public key is exportable (``vigie export pubkey``) so a
court can verify without access to the centre. ``manifest.json`` holds the
manifest, its signature over the canonical JSON, and the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigie.base.i18n import t

MANIFEST_NAME = "manifest.json"


def key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / "export_ed25519.pem"


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    path = key_path(data_dir)
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def write_signed(
    directory: Path, manifest: dict[str, Any], key: Ed25519PrivateKey, *, durable: bool = True
) -> Path:
    body = canonical(manifest)
    doc = {
        "manifest": manifest,
        "signature_ed25519": base64.b64encode(key.sign(body)).decode("ascii"),
        "public_key_pem": public_pem(key),
    }
    path = directory / MANIFEST_NAME
    data = (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
    with path.open("wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    if durable:  # the directory entries of the video and the manifest
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    problems: list[str]


def verify(directory: Path, public_key_pem: str | None = None) -> VerifyResult:
    """Check the signature, then each file's size and SHA-256; name what changed.

    ``public_key_pem`` is the centre's key obtained apart; without it the key
    embedded in the manifest is used (that proves integrity, not origin).
    """
    doc = json.loads((directory / MANIFEST_NAME).read_text())
    manifest = doc["manifest"]
    pem = public_key_pem or doc["public_key_pem"]
    public = serialization.load_pem_public_key(pem.encode("ascii"))
    assert isinstance(public, Ed25519PublicKey)
    problems: list[str] = []
    try:
        public.verify(base64.b64decode(doc["signature_ed25519"]), canonical(manifest))
    except (InvalidSignature, ValueError):
        problems.append(t("recording.export.bad_signature"))
    for entry in manifest["files"]:
        name = entry["name"]
        path = directory / name
        if not path.is_file():
            problems.append(t("recording.export.file_missing", name=name))
            continue
        size = path.stat().st_size
        if size != entry["size_bytes"]:
            problems.append(
                t(
                    "recording.export.size_changed",
                    name=name,
                    expected=entry["size_bytes"],
                    found=size,
                )
            )
        found = sha256_file(path)
        if found != entry["sha256"]:
            problems.append(
                t("recording.export.file_changed", name=name, expected=entry["sha256"], found=found)
            )
    return VerifyResult(not problems, problems)
