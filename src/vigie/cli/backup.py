"""``vigie backup DIR`` and ``vigie restore DIR``.

A backup is a directory::

    backup.json        the manifest: when, from where, which database and schema,
                       the size, mode and SHA-256 of every file; sealed with an HMAC
                       under a key derived from VIGIE_SECRET_KEY. Written last:
                       a directory without it is an interrupted backup.
    settings.json      the settings in force, secrets left out
    database/vigie.db  SQLite (online backup API), or database/vigie.pgdump (pg_dump)
    data/...           the rest of the data directory: signing keys (keys/),
                       exports still referenced by a transmission (exports/),
                       image-check references (checks/); recordings/ only with
                       --with-recordings (video: large, and under the retention
                       ceiling — see docs/guide/install.md)

The secret key is never in a backup; the restoring side must have it (the audit
log's anchor and the seal are keyed with it). ``restore`` goes onto an empty data
directory and an empty database, and refuses a backup whose seal or any file's
SHA-256 does not match, before writing anything. It then migrates the schema,
points transmissions at the new exports directory when the data directory
moved, and rebuilds the recording index from the files (``index.check`` with
``fix``, then ``index.sync``: the code of ``vigie check --fix``).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from vigie.base.clock import Clock
from vigie.base.errors import FailedPrecondition
from vigie.base.i18n import t
from vigie.base.redact import redact_url
from vigie.base.settings import DEMO_SECRET_FILE, Settings

MANIFEST = "backup.json"
SETTINGS_FILE = "settings.json"
FORMAT = "vigie-backup"
VERSION = 1
DATA = "data"
DATABASE = "database"
RECORDINGS = "recordings"
EXPORTS = "exports"
SECRET_SETTINGS = ("secret_key", "metrics_token")
# A restored data directory may already hold these: a file system's own folder,
# and (for a backup without recordings) the recordings kept on their own volume.
ALWAYS_ALLOWED = {"lost+found"}
DATED = re.compile(r"^\d{8}T\d{6}Z$")


def register(sub: Any) -> None:
    b: argparse.ArgumentParser = sub.add_parser(
        "backup", help="back up database, signing keys, exports and settings into DIR"
    )
    b.add_argument("directory", type=Path, help="a new or empty directory (see --dated)")
    b.add_argument(
        "--with-recordings", action="store_true", help="also copy the recordings (video)"
    )
    b.add_argument(
        "--dated",
        action="store_true",
        help="DIR is a parent: write into DIR/<UTC date-time> (nightly backups)",
    )
    b.add_argument(
        "--keep",
        type=int,
        default=None,
        help="with --dated: keep only the N newest backups in DIR, delete the older ones",
    )
    b.set_defaults(func=_backup)
    r: argparse.ArgumentParser = sub.add_parser(
        "restore", help="restore a backup onto an empty data directory and database"
    )
    r.add_argument("directory", type=Path, help="the backup (holds backup.json)")
    r.set_defaults(func=_restore)


# --- shared --------------------------------------------------------------------


def _derive(settings: Settings, purpose: str) -> bytes:
    from vigie.domain.signing import derive_key

    return derive_key(settings.secret_key, purpose)


def secret_check(settings: Settings) -> str:
    """Tells whether two sides share the secret, and says nothing of it."""
    return _derive(settings, "backup-check").hex()


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(settings: Settings, doc: dict[str, Any]) -> str:
    return hmac.new(_derive(settings, "backup"), _canonical(doc), hashlib.sha256).hexdigest()


def _copy(src: Path, dst: Path, mode: int) -> tuple[int, str]:
    """Copy ``src`` to the new file ``dst`` (fsynced); its size and SHA-256 as copied."""
    h = hashlib.sha256()
    size = 0
    with src.open("rb") as fi:  # first: a file purged meanwhile leaves nothing behind
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o777)
        with os.fdopen(fd, "wb") as fo:
            while chunk := fi.read(1 << 20):
                h.update(chunk)
                fo.write(chunk)
                size += len(chunk)
            fo.flush()
            os.fsync(fo.fileno())
    os.chmod(dst, mode & 0o777)  # whatever the umask
    return size, h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _inside(path: Path, parent: Path) -> bool:
    return path.resolve().is_relative_to(parent.resolve())


def public_settings(settings: Settings) -> dict[str, Any]:
    out = settings.model_dump(mode="json")
    for name in SECRET_SETTINGS:
        out.pop(name, None)
    out["database_url"] = redact_url(out["database_url"])
    return out


# --- backup --------------------------------------------------------------------


@dataclass
class BackupReport:
    directory: Path
    files: int = 0
    bytes: int = 0
    vanished: list[str] = field(default_factory=list)  # deleted by a purge meanwhile
    pruned: list[Path] = field(default_factory=list)


def _walk(top: Path) -> Iterator[Path]:
    """Regular files under ``top``, sorted; links and special files are skipped."""
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            if path.is_file() and not path.is_symlink():
                yield path


def _data_files(
    settings: Settings, *, with_recordings: bool, exports: set[str], sqlite_db: Path | None
) -> Iterator[tuple[Path, str]]:
    """(file, name relative to the data directory) of what a backup copies."""
    root = settings.data_dir
    skip: set[Path] = set()
    if sqlite_db is not None:  # copied through the backup API, never as a file
        skip = {
            sqlite_db.resolve().with_name(sqlite_db.name + s)
            for s in ("", "-wal", "-shm", "-journal")
        }
    for entry in sorted(root.iterdir()):
        if entry.name in ALWAYS_ALLOWED or entry.resolve() in skip:
            continue
        if entry.name == DEMO_SECRET_FILE:  # a secret key is never in a backup
            continue
        if entry.name == RECORDINGS:
            if with_recordings and entry.is_dir():
                for path in _walk(entry):
                    yield path, path.relative_to(root).as_posix()
            continue
        if entry.name == EXPORTS and entry.is_dir():
            # Only finished exports: a transmission refers to them (the row is
            # written last); partial ones are removed at start-up anyway.
            for sub in sorted(entry.iterdir()):
                if sub.name in exports and sub.is_dir() and not sub.is_symlink():
                    for path in _walk(sub):
                        yield path, path.relative_to(root).as_posix()
            continue
        if entry.is_symlink():
            continue
        if entry.is_dir():
            for path in _walk(entry):
                yield path, path.relative_to(root).as_posix()
        elif entry.is_file():
            yield entry, entry.name


def _referenced_exports(url: str) -> set[str]:
    from sqlalchemy import select

    from vigie.recording.models import Transmission
    from vigie.storage.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            return {Path(d).name for d in db.scalars(select(Transmission.export_dir))}
    finally:
        engine.dispose()


def _empty_dir_or_absent(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def make_backup(
    settings: Settings, directory: Path, *, clock: Clock, with_recordings: bool = False
) -> BackupReport:
    """Write a backup of the running (or stopped) centre into ``directory``."""
    from vigie import __version__
    from vigie.storage import backup as dbb

    if _inside(directory, settings.data_dir):
        raise FailedPrecondition(
            t("backup.error.dest_inside_data", path=directory, data_dir=settings.data_dir)
        )
    if not _empty_dir_or_absent(directory):
        raise FailedPrecondition(t("backup.error.dest_not_empty", path=directory))
    url = settings.resolved_database_url
    kind = dbb.kind_of(url)
    sqlite_db = dbb.sqlite_path(url) if kind == dbb.SQLITE else None
    if sqlite_db is not None and not sqlite_db.is_file():
        raise FailedPrecondition(t("backup.error.no_database", path=sqlite_db))
    if not settings.data_dir.is_dir():
        raise FailedPrecondition(t("backup.error.no_data_dir", path=settings.data_dir))
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)  # it holds the signing key
    report = BackupReport(directory)
    created = clock.now()
    entries: list[dict[str, Any]] = []

    (directory / DATABASE).mkdir(mode=0o700)
    db_name = f"{DATABASE}/{dbb.DUMP_NAMES[kind]}"
    dbb.dump(url, directory / db_name)
    revision = dbb.revision(f"sqlite:///{(directory / db_name).resolve()}" if sqlite_db else url)
    os.chmod(directory / db_name, 0o600)
    entries.append(_entry(directory, db_name))
    exports = _referenced_exports(url)  # after the dump: a superset of the snapshot's

    data_files = _data_files(
        settings, with_recordings=with_recordings, exports=exports, sqlite_db=sqlite_db
    )
    for path, rel in data_files:
        name = f"{DATA}/{rel}"
        try:
            mode = path.stat().st_mode
            size, digest = _copy(path, directory / name, mode)
        except FileNotFoundError:  # a recording or an expired export purged meanwhile
            report.vanished.append(rel)
            continue
        entries.append({"name": name, "size_bytes": size, "sha256": digest, "mode": mode & 0o777})

    body = json.dumps(public_settings(settings), indent=2, sort_keys=True, ensure_ascii=False)
    (directory / SETTINGS_FILE).write_text(body + "\n", encoding="utf-8")
    entries.append(_entry(directory, SETTINGS_FILE))

    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "created_utc": created.isoformat(),
        "vigie_version": __version__,
        "source_data_dir": str(settings.data_dir),
        "source_data_dir_resolved": str(settings.data_dir.resolve()),
        "database": {"kind": kind, "file": db_name, "schema_revision": revision},
        "with_recordings": with_recordings,
        "secret_check": secret_check(settings),
        "files": entries,
    }
    sealed = {"backup": doc, "hmac_sha256": seal(settings, doc)}
    data = (json.dumps(sealed, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    tmp = directory / (MANIFEST + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.rename(directory / MANIFEST)
    _fsync_dir(directory)
    report.files = len(entries)
    report.bytes = sum(e["size_bytes"] for e in entries)
    _audit(
        settings,
        clock,
        "backup_created",
        target=f"backup:{directory.resolve()}",
        details={"files": report.files, "bytes": report.bytes, "with_recordings": with_recordings},
    )
    return report


def _entry(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    st = path.stat()
    return {
        "name": name,
        "size_bytes": st.st_size,
        "sha256": _sha256(path),
        "mode": st.st_mode & 0o777,
    }


def _audit(
    settings: Settings, clock: Clock, action: str, *, target: str, details: dict[str, Any]
) -> None:
    from vigie.control.deps import audit_key
    from vigie.storage import audit
    from vigie.storage.db import make_engine, make_sessionmaker, session_scope

    audit.set_key(audit_key(settings))
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            audit.append(db, at=clock.now(), action=action, actor="cli", target=target,
                         details=details)  # fmt: skip
    finally:
        engine.dispose()


def prune(parent: Path, keep: int) -> list[Path]:
    """Delete what ``--dated`` wrote into ``parent`` beyond the ``keep`` newest
    complete backups (older interrupted attempts too); return what was deleted."""
    dated = sorted(
        (p for p in parent.iterdir() if DATED.match(p.name) and p.is_dir() and not p.is_symlink()),
        key=lambda p: p.name,
        reverse=True,
    )
    complete = [p for p in dated if (p / MANIFEST).is_file()]
    if len(complete) <= keep:
        return []
    oldest_kept = complete[keep - 1].name
    doomed = [p for p in dated if p.name < oldest_kept]
    for p in doomed:
        shutil.rmtree(p)
    return doomed


def _backup(args: argparse.Namespace) -> int:
    settings = Settings()
    clock: Clock = args.clock
    if args.keep is not None and (not args.dated or args.keep < 1):
        raise FailedPrecondition(t("backup.error.keep"))
    directory: Path = args.directory
    if args.dated:
        directory = directory / clock.now().strftime("%Y%m%dT%H%M%SZ")
    report = make_backup(settings, directory, clock=clock, with_recordings=args.with_recordings)
    for rel in report.vanished:
        print(t("backup.vanished", name=rel))
    if args.keep is not None:
        report.pruned = prune(args.directory, args.keep)
        for p in report.pruned:
            print(t("backup.pruned", path=p))
    print(
        t(
            "backup.done",
            path=report.directory,
            files=report.files,
            mb=round(report.bytes / 1e6, 1),
            recordings=t(
                "backup.with_recordings" if args.with_recordings else "backup.no_recordings"
            ),
        )
    )
    return 0


# --- restore -------------------------------------------------------------------


@dataclass
class RestoreReport:
    files: int = 0
    created_utc: str = ""
    relocated: int = 0
    segments: int = 0
    index_problems: int = 0
    index_skipped: bool = False
    settings_differ: list[str] = field(default_factory=list)


def read_manifest(directory: Path) -> tuple[dict[str, Any], str]:
    path = directory / MANIFEST
    if not path.is_file():
        raise FailedPrecondition(t("restore.error.no_manifest", path=directory))
    try:
        sealed = json.loads(path.read_text(encoding="utf-8"))
        doc, mac = sealed["backup"], sealed["hmac_sha256"]
        if not isinstance(doc, dict) or not isinstance(mac, str):
            raise TypeError("backup / hmac_sha256")
    except (ValueError, KeyError, TypeError) as exc:
        raise FailedPrecondition(t("restore.error.bad_manifest", path=path, detail=exc)) from exc
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise FailedPrecondition(
            t("restore.error.format", found=f"{doc.get('format')} {doc.get('version')}",
              expected=f"{FORMAT} {VERSION}")
        )  # fmt: skip
    return doc, mac


def _safe_name(name: object) -> bool:
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return False
    p = PurePosixPath(name)
    return (
        not p.is_absolute()
        and ".." not in p.parts
        and p.parts[0] in (DATA, DATABASE, SETTINGS_FILE)
    )


def verify_files(directory: Path, doc: dict[str, Any]) -> list[str]:
    """Every listed file present, of its size and SHA-256; what is wrong, named."""
    problems: list[str] = []
    for entry in doc.get("files", []):
        name = entry.get("name")
        if not _safe_name(name):
            problems.append(t("restore.unsafe_name", name=name))
            continue
        path = directory / name
        if not path.is_file() or path.is_symlink():
            problems.append(t("restore.file_missing", name=name))
            continue
        size = path.stat().st_size
        if size != entry.get("size_bytes"):
            problems.append(
                t("restore.size_changed", name=name, expected=entry.get("size_bytes"), found=size)
            )
            continue
        found = _sha256(path)
        if found != entry.get("sha256"):
            problems.append(
                t("restore.file_changed", name=name, expected=entry.get("sha256"), found=found)
            )
    return problems


def _check_target(settings: Settings, doc: dict[str, Any]) -> None:
    from vigie.storage import backup as dbb

    data_dir = settings.data_dir
    allowed = set(ALWAYS_ALLOWED)
    recordings = data_dir / RECORDINGS
    if not doc["with_recordings"]:
        allowed.add(RECORDINGS)  # the recordings, kept on their own volume
    elif recordings.is_dir() and not _empty_dir_or_absent(recordings):
        raise FailedPrecondition(t("restore.error.recordings_not_empty", path=recordings))
    else:
        allowed.add(RECORDINGS)  # an empty mount point
    if data_dir.exists():
        if not data_dir.is_dir():
            raise FailedPrecondition(
                t("restore.error.target_not_empty", path=data_dir, entries=data_dir.name)
            )
        extra = sorted(p.name for p in data_dir.iterdir() if p.name not in allowed)
        if extra:
            shown = ", ".join(extra[:5]) + (", …" if len(extra) > 5 else "")
            raise FailedPrecondition(
                t("restore.error.target_not_empty", path=data_dir, entries=shown)
            )
    url = settings.resolved_database_url
    kind = dbb.kind_of(url)
    if kind != doc["database"]["kind"]:
        raise FailedPrecondition(
            t("restore.error.database_kind", found=doc["database"]["kind"], expected=kind)
        )
    if kind == dbb.SQLITE and dbb.sqlite_path(url).exists():
        raise FailedPrecondition(t("restore.error.database_exists", path=dbb.sqlite_path(url)))
    existing = dbb.tables(url)
    if existing:
        raise FailedPrecondition(
            t("restore.error.database_not_empty", url=redact_url(url), tables=len(existing))
        )
    if not dbb.known_revision(doc["database"].get("schema_revision")):
        raise FailedPrecondition(
            t("restore.error.newer_schema", revision=doc["database"].get("schema_revision"))
        )


def restore_backup(settings: Settings, directory: Path, *, clock: Clock) -> RestoreReport:
    """Check everything, then restore ``directory`` into the configured data dir and database."""
    from vigie.storage import backup as dbb
    from vigie.storage.migrate import upgrade

    doc, mac = read_manifest(directory)
    _check_target(settings, doc)
    if not hmac.compare_digest(str(doc.get("secret_check", "")), secret_check(settings)):
        raise FailedPrecondition(t("restore.error.wrong_secret"))
    if not hmac.compare_digest(mac, seal(settings, doc)):
        raise FailedPrecondition(t("restore.error.seal", path=directory / MANIFEST))
    problems = verify_files(directory, doc)
    if problems:
        raise FailedPrecondition(
            t("restore.error.tampered", count=len(problems),
              problems="\n".join(f"  - {p}" for p in problems))
        )  # fmt: skip
    names = {e["name"] for e in doc["files"]}
    if doc["database"]["file"] not in names:
        raise FailedPrecondition(t("restore.file_missing", name=doc["database"]["file"]))

    data_dir = settings.data_dir
    url = settings.resolved_database_url
    report = RestoreReport(created_utc=str(doc["created_utc"]))
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        for entry in doc["files"]:
            name = entry["name"]
            if not name.startswith(DATA + "/"):
                continue
            target = data_dir / name[len(DATA) + 1 :]
            _, digest = _copy(directory / name, target, int(entry.get("mode", 0o640)))
            if digest != entry["sha256"]:  # changed since it was verified
                raise FailedPrecondition(
                    t("restore.file_changed", name=name, expected=entry["sha256"], found=digest)
                )
            report.files += 1
        dbb.restore(url, directory / doc["database"]["file"])
        report.files += 1
        # a backup of an older version: the schema of this one (camera secrets
        # sealed under this secret key, the one the backup was checked against)
        upgrade(url, secret_key=settings.secret_key)
        report.relocated = _relocate_exports(settings, doc)
        _rebuild_index(settings, clock, report)
    except FailedPrecondition as exc:
        raise FailedPrecondition(
            t("restore.error.partial", detail=exc.message, path=data_dir)
        ) from exc
    except OSError as exc:
        raise FailedPrecondition(t("restore.error.partial", detail=exc, path=data_dir)) from exc
    report.settings_differ = _settings_differ(settings, directory)
    _audit(
        settings,
        clock,
        "backup_restored",
        target=f"backup:{directory.resolve()}",
        details={"created_utc": report.created_utc, "files": report.files,
                 "source_data_dir": doc["source_data_dir_resolved"],
                 "segments": report.segments, "index_problems": report.index_problems},
    )  # fmt: skip
    return report


def _relocate_exports(settings: Settings, doc: dict[str, Any]) -> int:
    """Transmissions name their export folder by path: follow the data directory."""
    from sqlalchemy import select

    from vigie.recording.models import Transmission
    from vigie.storage.db import make_engine, make_sessionmaker, session_scope

    sources = [Path(doc["source_data_dir"]), Path(doc["source_data_dir_resolved"])]
    moved = 0
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            for tr in db.scalars(select(Transmission)):
                old = Path(tr.export_dir)
                for src in sources:
                    if old.is_relative_to(src):
                        new = str(settings.data_dir / old.relative_to(src))
                        if new != tr.export_dir:
                            tr.export_dir = new
                            moved += 1
                        break
    finally:
        engine.dispose()
    return moved


def _rebuild_index(settings: Settings, clock: Clock, report: RestoreReport) -> None:
    """Rows follow the files: the code of ``vigie check --fix``, then a full sync."""
    from sqlalchemy import func, select

    from vigie.recording import index
    from vigie.recording.models import RecordingSegment
    from vigie.storage.db import make_engine, make_sessionmaker, session_scope

    root = settings.data_dir / RECORDINGS
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            rows = db.scalar(select(func.count()).select_from(RecordingSegment)) or 0
            has_files = root.is_dir() and any(_walk(root))
            if rows and not has_files:
                # Recordings not in place (yet): fixing now would register every
                # segment as destroyed. The operator runs `vigie check --fix` later.
                report.index_skipped = True
                report.segments = rows
                return
            now = clock.now()
            report.index_problems = len(index.check(db, root, now=now, fix=True))
            index.sync(db, root, now=now)
            report.segments = db.scalar(select(func.count()).select_from(RecordingSegment)) or 0
    finally:
        engine.dispose()


def _settings_differ(settings: Settings, directory: Path) -> list[str]:
    try:
        saved = json.loads((directory / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    current = public_settings(settings)
    out = []
    for name in sorted(saved):
        if name in ("data_dir", "database_url"):
            continue
        if name in current and current[name] != saved[name]:
            out.append(
                t(
                    "restore.setting_differs",
                    name=name.upper(),
                    current=current[name],
                    saved=saved[name],
                )
            )
    return out


def _restore(args: argparse.Namespace) -> int:
    settings = Settings()
    report = restore_backup(settings, args.directory, clock=args.clock)
    for line in report.settings_differ:
        print(line)
    if report.relocated:
        print(t("restore.relocated", count=report.relocated, path=settings.data_dir / EXPORTS))
    if report.index_skipped:
        print(
            t(
                "restore.index_skipped",
                path=settings.data_dir / RECORDINGS,
                segments=report.segments,
            )
        )
    else:
        print(t("restore.index_rebuilt", segments=report.segments, problems=report.index_problems))
    print(t("restore.done", path=args.directory, created=report.created_utc, files=report.files))
    return 0
