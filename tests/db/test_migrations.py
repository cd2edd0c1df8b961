"""The migrations build the schema the models describe, and walk down and up cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from civgrid.db.migrate import alembic_config, downgrade, upgrade
from civgrid.db.session import make_engine
from tests.conftest import BACKEND, _create_pg_database, _drop_pg_database


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the backend under test."""
    if BACKEND == "postgresql":
        name, url = _create_pg_database()
        yield url
        _drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"


def test_single_head_and_linear_chain() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    revisions = [r.revision for r in script.walk_revisions()]
    assert revisions[-1] == "0001"


def test_upgrade_downgrade_upgrade_and_check(scratch_url: str) -> None:
    upgrade(scratch_url)
    engine = make_engine(scratch_url)
    tables = set(inspect(engine).get_table_names())
    assert {"users", "user_scopes", "audit_events", "divisions", "departments"} <= tables
    engine.dispose()
    downgrade(scratch_url, "base")
    engine = make_engine(scratch_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(scratch_url)
    command.check(alembic_config(scratch_url))


@pytest.mark.skipif(BACKEND != "postgresql", reason="the extensions are PostgreSQL's")
def test_a_server_without_the_contrib_extensions_is_told_which(scratch_url: str) -> None:
    """Migration 0011 names what is missing and changes nothing (here the server has them: a
    view earlier on the search path than pg_catalog hides ``cube`` from the catalogue)."""
    upgrade(scratch_url, "0010")
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA hide"))
        conn.execute(
            text(
                "CREATE VIEW hide.pg_available_extensions AS SELECT name "
                "FROM pg_catalog.pg_available_extensions WHERE name <> 'cube'"
            )
        )
    hidden = scratch_url + "?options=" + quote("-csearch_path=hide,pg_catalog,public")
    with pytest.raises(RuntimeError, match=r"lacks the contrib extension\(s\) cube, which"):
        upgrade(hidden)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0010"
        assert not conn.execute(
            text("SELECT 1 FROM pg_indexes WHERE indexname = 'ix_cases_nearby'")
        ).all()
    engine.dispose()
    upgrade(scratch_url)  # with the real catalogue it goes on
