"""Engine and sessions. SQLite in WAL mode is the embedded default;
the same models run on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, UOWTransaction, sessionmaker

from vigie.base.clock import Clock, RealClock

CLOCK_KEY = "clock"


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def make_sessionmaker(engine: Engine, clock: Clock | None = None) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` whose rows are stamped (``created_at``…) by
    ``clock`` — the process's real clock unless a caller hands one down."""
    return sessionmaker(bind=engine, expire_on_commit=False, info={CLOCK_KEY: clock or RealClock()})


def session_clock(session: Session) -> Clock:
    clock = session.info.get(CLOCK_KEY)
    if clock is None:
        raise RuntimeError("this session has no clock: make it with make_sessionmaker()")
    c: Clock = clock
    return c


def use_clock(factory: sessionmaker[Session], clock: Clock) -> None:
    """Sessions made by ``factory`` from now on stamp their rows with ``clock``."""
    factory.configure(info={CLOCK_KEY: clock})


@event.listens_for(Session, "before_flush")
def _stamp(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    """Fill the columns marked CREATED_AT / UPDATED_AT (storage/types.py)."""
    if not session.new and not session.dirty:
        return
    now = None
    for obj, is_new in [(o, True) for o in session.new] + [(o, False) for o in session.dirty]:
        mapper = inspect(obj).mapper
        for attr in mapper.column_attrs:
            stamp = attr.columns[0].info.get("stamp")
            if stamp is None:
                continue
            if is_new and getattr(obj, attr.key) is not None and stamp == "insert":
                continue
            if not is_new and (stamp != "update" or not session.is_modified(obj)):
                continue
            if is_new and stamp == "update" and getattr(obj, attr.key) is not None:
                continue
            if now is None:
                now = session_clock(session).now()
            setattr(obj, attr.key, now)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def session_now(session: Session) -> datetime:
    """The current instant by the clock the session was made with."""
    return session_clock(session).now()
