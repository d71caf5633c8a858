"""Migrations: up and down on SQLite and Postgres, models equal migrations, concurrent boots are safe."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from pipelines.db import get_engine
from pipelines.migrate import current_revision, downgrade, head_revision, upgrade
from pipelines.models import Base

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def empty_config(request):
    name = "sqlite_config" if request.param == "sqlite" else "fresh_postgres_config"
    return request.getfixturevalue(name)


def _tables(config):
    return set(inspect(get_engine(config)).get_table_names()) - {"alembic_version"}


def test_upgrade_head_then_downgrade_base(empty_config):
    assert upgrade(empty_config) == head_revision(empty_config)
    assert _tables(empty_config) == set(Base.metadata.tables)
    assert downgrade(empty_config, "base") is None
    assert _tables(empty_config) == set()
    assert upgrade(empty_config) == head_revision(empty_config)  # and up again


def test_models_match_migrations(empty_config):
    upgrade(empty_config)
    with get_engine(empty_config).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; run alembic autogenerate: {diff}"


def test_upgrade_is_a_no_op_at_head(empty_config):
    upgrade(empty_config)
    with get_engine(empty_config).connect() as connection:
        before = current_revision(connection)
    assert upgrade(empty_config) == before


def test_concurrent_boots_migrate_once_and_all_succeed(empty_config):
    """Four processes run `sixdeg migrate` at the same moment on an empty database: the lock serialises them."""
    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": empty_config.database_url,
        "SIXDEG_DATA_DIR": str(empty_config.data_dir),
    }
    sixdeg = Path(sys.executable).parent / "sixdeg"
    processes = [
        subprocess.Popen(
            [str(sixdeg), "migrate"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    assert sum("database migrated from empty" in out for out in outputs) == 1, outputs
    assert _tables(empty_config) == set(Base.metadata.tables)
