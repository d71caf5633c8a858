import stat

import pytest

from pipelines.config import SETTINGS, Config, ConfigError


def test_defaults_are_the_embedded_backends(tmp_path):
    config = Config.from_env({"SIXDEG_DATA_DIR": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path}/sixdeg.db"
    assert (config.database_kind, config.broker_kind, config.graph_kind, config.search_kind) == (
        "sqlite",
        "memory",
        "sql",
        "sqlite",
    )
    assert config.backup_dir == tmp_path / "backups"


def test_production_urls_are_recognised(tmp_path):
    config = Config.from_env(
        {
            "SIXDEG_DATA_DIR": str(tmp_path),
            "SIXDEG_DATABASE_URL": "postgresql://u:p@db:5432/sixdeg",
            "SIXDEG_BROKER_URL": "amqp://guest:guest@mq:5672/%2F",
            "SIXDEG_GRAPH_URL": "bolt://neo4j:7687",
            "SIXDEG_SEARCH_URL": "opensearch+http://search:9200",
        }
    )
    assert (config.database_kind, config.broker_kind, config.graph_kind, config.search_kind) == (
        "postgresql",
        "rabbitmq",
        "neo4j",
        "opensearch",
    )
    assert config.search_http_url == "http://search:9200"


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("SIXDEG_DATABASE_URL", "mysql://db/x", "unknown scheme 'mysql'"),
        ("SIXDEG_DATABASE_URL", "not a url", "is not a URL"),
        ("SIXDEG_BROKER_URL", "redis://localhost", "unknown scheme 'redis'"),
        ("SIXDEG_BROKER_URL", "amqp://host:notaport/", "malformed URL"),
        ("SIXDEG_GRAPH_URL", "neo5j://x", "unknown scheme"),
        ("SIXDEG_GRAPH_URL", "bolt://", "has no host"),
        ("SIXDEG_SEARCH_URL", "http://localhost:9200", "unknown scheme 'http'"),
        ("SIXDEG_WORKER_THREADS", "many", "is not an integer"),
        ("SIXDEG_WORKER_THREADS", "0", "must be positive"),
        ("SIXDEG_MIGRATE_ON_BOOT", "perhaps", "is not a boolean"),
    ],
)
def test_a_bad_setting_fails_naming_the_variable(tmp_path, var, value, fragment):
    with pytest.raises(ConfigError) as error:
        Config.from_env({"SIXDEG_DATA_DIR": str(tmp_path), var: value})
    assert var in str(error.value)
    assert fragment in str(error.value)


def test_embedded_secret_key_is_generated_once_and_private(tmp_path):
    first = Config.from_env({"SIXDEG_DATA_DIR": str(tmp_path)}).secret_key
    second = Config.from_env({"SIXDEG_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 40
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert Config.from_env({"SIXDEG_DATA_DIR": str(tmp_path), "SIXDEG_SECRET_KEY": "k"}).secret_key == "k"


def test_every_setting_is_documented_and_maps_to_a_field():
    fields = set(Config.__dataclass_fields__)
    for setting in SETTINGS:
        assert setting.env.startswith("SIXDEG_")
        assert setting.doc.endswith(".") and len(setting.doc) > 20
        assert setting.attr in fields


def test_the_readme_documents_every_setting_with_its_default():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for setting in SETTINGS:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{setting.env}` |")), None)
        assert row is not None, f"README's configuration table lacks {setting.env}"
        if setting.default:
            assert f"`{setting.default}`" in row, f"README gives another default for {setting.env}: {row}"
