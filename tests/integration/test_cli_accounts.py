"""`sixdeg user create` and `sixdeg export` through the real console script."""

import json
import os
import subprocess
import sys
from pathlib import Path

import vobject

from tests.support.people import PASSWORD, seed_user

SIXDEG = str(Path(sys.executable).parent / "sixdeg")


def _run(config, *args, stdin=""):
    env = {**os.environ, "SIXDEG_DATA_DIR": str(config.data_dir), "SIXDEG_DATABASE_URL": config.database_url}
    return subprocess.run(
        [SIXDEG, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_user_create_reads_the_password_from_stdin(migrated_sqlite_config):
    created = _run(migrated_sqlite_config, "user", "create", "Eve@Example.com", stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    assert "<eve@example.com>" in created.stdout
    again = _run(migrated_sqlite_config, "user", "create", "eve@example.com", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    weak = _run(migrated_sqlite_config, "user", "create", "frank@example.com", stdin="short\n")
    assert weak.returncode == 1 and "at least 10 characters" in weak.stderr


def test_export_json_and_vcard(migrated_sqlite_config):
    seed_user(migrated_sqlite_config, "alice@example.com")
    exported = _run(migrated_sqlite_config, "export", "--user", "alice@example.com")
    assert exported.returncode == 0, exported.stderr
    assert len(json.loads(exported.stdout)["contacts"]) == 2
    cards = _run(migrated_sqlite_config, "export", "--user", "alice@example.com", "--format", "vcard")
    assert [c.fn.value for c in vobject.readComponents(cards.stdout)] == ["Grace Hopper", "Linus T"]
    missing = _run(migrated_sqlite_config, "export", "--user", "nobody@example.com")
    assert missing.returncode == 1 and "sixdeg user create" in missing.stderr
