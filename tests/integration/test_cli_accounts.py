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


def test_search_and_rebuild_search(migrated_sqlite_config):
    seed_user(migrated_sqlite_config, "alice@example.com")
    seed_user(
        migrated_sqlite_config,
        "bob@example.org",
        contacts=[{"given_name": "Grete", "family_name": "Hoppér", "emails": ["grete@x.example"]}],
    )
    rebuilt = _run(migrated_sqlite_config, "rebuild", "search")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "search rebuilt on sqlite: 7 people indexed" in rebuilt.stdout
    as_alice = _run(migrated_sqlite_config, "search", "hopper", "--user", "alice@example.com", "--json")
    assert as_alice.returncode == 0, as_alice.stderr
    found = json.loads(as_alice.stdout)
    assert [(i["name"], i["company"], i["degree"]) for i in found["items"]] == [("Grace Hopper", "Navy", 1)]
    everyone = _run(migrated_sqlite_config, "search", "hopper")  # the operator sees Bob's Grete too
    assert everyone.returncode == 0 and "2 matches" in everyone.stdout and "Grete Hoppér" in everyone.stdout
    nobody = _run(migrated_sqlite_config, "search", "zzzz", "--user", "alice@example.com")
    assert nobody.stdout.strip() == "nobody matches"
    no_user = _run(migrated_sqlite_config, "search", "x", "--degree", "1")
    assert no_user.returncode == 1 and "--degree needs --user" in no_user.stderr
