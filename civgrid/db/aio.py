"""Asynchronous PostgreSQL connections, for the few request paths that write without the ORM.

Case intake writes a new case with one statement (``civgrid.cases.newcase``). On an
asynchronous connection in autocommit mode that statement is its own transaction and runs on
the event loop: no thread, no ``BEGIN`` and ``COMMIT`` round trips, no session. Everything
else uses the synchronous engine and sessions of ``civgrid.db.session``.

The pools belong to the app that is serving: opened on first use inside its event loop, one
per database (``open_pools``), closed when it stops (``Pools.close``, in the app's lifespan).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from civgrid.config import get_settings

# Connections per pool: each is held for one statement only. Requests beyond this many at once
# wait for one (in Python, at a cost per request); a server process also has its synchronous
# engine's pool (civgrid.db.session), and PostgreSQL allows 100 connections by default.
POOL_MAX = 8
APPLICATION_NAME = "civgrid-async"


class Pools:
    """An app's asynchronous pools, by engine (one per database)."""

    def __init__(self) -> None:
        self._pools: dict[Engine, AsyncConnectionPool[Any]] = {}
        self._lock = asyncio.Lock()

    async def get(self, engine: Engine) -> AsyncConnectionPool[Any]:
        pool = self._pools.get(engine)  # by identity: no URL rendered per request
        if pool is not None:
            return pool
        async with self._lock:
            if engine not in self._pools:
                url = engine.url.set(drivername="postgresql")
                conninfo = url.render_as_string(hide_password=False)
                pool = AsyncConnectionPool(
                    conninfo,
                    min_size=1,
                    max_size=POOL_MAX,
                    # seen as such in pg_stat_activity
                    kwargs={"autocommit": True, "application_name": APPLICATION_NAME},
                    open=False,
                    name=APPLICATION_NAME,
                )
                await pool.open()
                self._pools[engine] = pool
            return self._pools[engine]

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()


def open_pools(app: Any) -> Pools:
    """Give ``app`` its (still empty) pools; ``async_pool`` finds them there."""
    pools = Pools()
    app.state.async_pools = pools
    return pools


async def async_pool(request: Request, db: Session) -> AsyncConnectionPool[Any] | None:
    """A pool on the database of ``db``, when its work may leave the session for one.

    Called by the route, not a FastAPI dependency: each dependency costs the intake a
    measurable part of its time in FastAPI.

    None unless ``db`` is bound to a PostgreSQL *engine* and the app is serving with pools
    (``async_writes`` on): a session bound to a connection belongs to a caller's transaction
    (tests roll theirs back), and everything it writes must stay in it.
    """
    bind = db.get_bind()
    pools: Pools | None = getattr(request.app.state, "async_pools", None)
    if pools is None or not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return None
    if not get_settings().async_writes:
        return None
    return await pools.get(bind)
