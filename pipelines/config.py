"""Every setting of sixdeg, read once from the environment.

Each setting has a default and a one-line doc. With no settings at all sixdeg runs on embedded
backends (SQLite under ./var, an in-process broker, the SQL graph, SQLite FTS5 search), so a newcomer
can run the whole product with one command. A malformed URL or an unknown scheme fails at startup with
a message that names the variable.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting is malformed; the message names the environment variable."""


DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
BROKER_SCHEMES = ("memory", "amqp", "amqps")
GRAPH_SCHEMES = ("sql", "bolt", "bolt+s", "neo4j", "neo4j+s")
SEARCH_SCHEMES = (
    "sqlite",
    "opensearch+http",
    "opensearch+https",
    "elasticsearch+http",
    "elasticsearch+https",
)


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else url.lower()


def _check_url(var: str, url: str, schemes: tuple[str, ...], *, bare: tuple[str, ...] = ()) -> str:
    """Validate `url` against the allowed schemes; `bare` names values allowed without `://`."""
    url = url.strip()
    if url in bare:
        return url
    if "://" not in url:
        raise ConfigError(
            f"{var}={url!r} is not a URL; expected one of: "
            + ", ".join([*bare, *(f"{s}://..." for s in schemes if s not in bare)])
        )
    scheme = _scheme(url)
    if scheme not in schemes:
        raise ConfigError(f"{var}: unknown scheme {scheme!r} in {url!r}; expected one of: {', '.join(schemes)}")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigError(f"{var}: malformed URL {url!r}: {exc}") from None
    if scheme != "sqlite" and not parts.hostname:
        raise ConfigError(f"{var}: URL {url!r} has no host")
    return url


def _positive_int(var: str, raw: str) -> int:
    value = _non_negative_int(var, raw)
    if value == 0:
        raise ConfigError(f"{var}={raw!r} must be positive")
    return value


def _non_negative_int(var: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not an integer") from None
    if value < 0:
        raise ConfigError(f"{var}={raw!r} must be positive or 0")
    return value


def _positive_float(var: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{var}={raw!r} must be positive")
    return value


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default (None = derived), doc and parser."""

    env: str
    attr: str
    default: str | None
    doc: str
    parse: Callable[[str, str], object] = lambda _var, raw: raw


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SIXDEG_DATA_DIR",
        "data_dir",
        "./var",
        "Directory for embedded state (SQLite files, uploads, keys).",
        lambda _v, raw: Path(raw),
    ),
    Setting(
        "SIXDEG_DATABASE_URL",
        "database_url",
        None,
        "System of record: sqlite:///path or postgresql://user:pass@host/db (default: SQLite in the data dir).",
        lambda v, raw: _check_url(v, raw, DATABASE_SCHEMES),
    ),
    Setting(
        "SIXDEG_BROKER_URL",
        "broker_url",
        "memory",
        "Message broker: 'memory' (in-process) or amqp://user:pass@host:5672/vhost for RabbitMQ.",
        lambda v, raw: _check_url(v, raw, BROKER_SCHEMES, bare=("memory",)),
    ),
    Setting(
        "SIXDEG_GRAPH_URL",
        "graph_url",
        "sql",
        "Graph store: 'sql' (paths over the database) or bolt://host:7687 for Neo4j.",
        lambda v, raw: _check_url(v, raw, GRAPH_SCHEMES, bare=("sql",)),
    ),
    Setting(
        "SIXDEG_SEARCH_URL",
        "search_url",
        "sqlite",
        "Search engine: 'sqlite' (FTS5), opensearch+http://host:9200 or elasticsearch+http://host:9200.",
        lambda v, raw: _check_url(v, raw, SEARCH_SCHEMES, bare=("sqlite",)),
    ),
    Setting(
        "SIXDEG_SEARCH_INDEX",
        "search_index",
        "people",
        "Name of the search alias (index generations are named after it); lets deployments share a cluster.",
        lambda v, raw: _check_index_name(v, raw),
    ),
    Setting(
        "SIXDEG_SECRET_KEY",
        "secret_key",
        None,
        "Key for sessions and encrypted secrets (default: generated once into the data dir).",
    ),
    Setting(
        "SIXDEG_WEB_DIR",
        "web_dir",
        None,
        "The built browser app served at / (default: web/dist beside the code; `make web` builds it).",
        lambda _v, raw: Path(raw),
    ),
    Setting("SIXDEG_SENTRY_DSN", "sentry_dsn", "", "Sentry DSN; empty disables error reporting."),
    Setting(
        "SIXDEG_ENVIRONMENT",
        "environment",
        "development",
        "Environment name on error reports and metrics (e.g. production, staging).",
        lambda v, raw: _check_environment(v, raw),
    ),
    Setting(
        "SIXDEG_LOG_FORMAT",
        "log_format",
        "auto",
        "Log lines as 'json', 'console' (human-readable), or 'auto': console on a terminal, JSON otherwise.",
        lambda v, raw: _check_choice(v, raw, LOG_FORMATS),
    ),
    Setting(
        "SIXDEG_METRICS",
        "metrics",
        "1",
        "1 to export Prometheus metrics (API /metrics, worker and scheduler metrics port); 0 turns them off.",
        lambda v, raw: _parse_bool(v, raw),
    ),
    Setting(
        "SIXDEG_METRICS_PORT",
        "metrics_port",
        "9191",
        "Port of the metrics endpoint of `dramatiq` workers (one per pod) and of the scheduler.",
        _positive_int,
    ),
    Setting(
        "SIXDEG_BACKUP_DIR",
        "backup_dir",
        None,
        "Where backups are written (default: <data dir>/backups).",
        lambda _v, raw: Path(raw),
    ),
    Setting(
        "SIXDEG_RATELIMIT_STORAGE",
        "ratelimit_storage",
        "memory://",
        "Flask-Limiter storage URI: memory:// for one process, redis://host:6379 for several replicas.",
    ),
    Setting("SIXDEG_WORKER_THREADS", "worker_threads", "4", "Worker threads in `sixdeg serve`.", _positive_int),
    Setting(
        "SIXDEG_WORKER_PREFETCH",
        "worker_prefetch",
        "4",
        "Messages a worker process takes from RabbitMQ ahead of processing, per queue.",
        _positive_int,
    ),
    Setting(
        "SIXDEG_BACKEND_TIMEOUT",
        "backend_timeout",
        "5",
        "Seconds before a call to a backend (database, broker, graph, search) gives up.",
        _positive_float,
    ),
    Setting(
        "SIXDEG_READY_TIMEOUT",
        "ready_timeout",
        "2",
        "Seconds each backend has to answer the /readyz check.",
        _positive_float,
    ),
    Setting(
        "SIXDEG_OUTBOX_GRACE",
        "outbox_grace",
        "30",
        "Seconds an unsent outbox row waits before the sweeper resends it.",
        _positive_float,
    ),
    Setting(
        "SIXDEG_COOKIE_SECURE",
        "cookie_secure",
        "0",
        "1 to mark the session cookie Secure (serve over HTTPS); 0 for plain-HTTP local use.",
        lambda v, raw: _parse_bool(v, raw),
    ),
    Setting(
        "SIXDEG_SESSION_DAYS",
        "session_days",
        "30",
        "Days a browser session stays valid after log-in.",
        _positive_int,
    ),
    Setting(
        "SIXDEG_MAX_BODY_BYTES",
        "max_body_bytes",
        str(1024 * 1024),
        "Largest JSON request body the API accepts, in bytes (413 beyond).",
        _positive_int,
    ),
    Setting(
        "SIXDEG_BACKUP_RATE_BYTES",
        "backup_rate_bytes",
        str(1024 * 1024),
        "Most backup output written per second (throttles pg_dump so a backup does not starve the API).",
        _positive_int,
    ),
    Setting(
        "SIXDEG_WEBHOOK_MAX_BYTES",
        "webhook_max_bytes",
        str(256 * 1024),
        "Largest webhook body accepted, in bytes (413 beyond).",
        _positive_int,
    ),
    Setting(
        "SIXDEG_MAX_UPLOAD_BYTES",
        "max_upload_bytes",
        str(100 * 1024 * 1024),
        "Largest file upload (contact imports) the API accepts, in bytes (413 beyond).",
        _positive_int,
    ),
    Setting(
        "SIXDEG_RATELIMIT_DEFAULT",
        "ratelimit_default",
        "1200/minute",
        "Requests allowed per authenticated user, and separately per client IP (Flask-Limiter syntax).",
    ),
    Setting(
        "SIXDEG_RATELIMIT_AUTH",
        "ratelimit_auth",
        "10/minute;100/hour",
        "Log-in, sign-up and password attempts allowed per client IP and per account (brute-force guard).",
    ),
    Setting(
        "SIXDEG_IMPORT_MAX_ROWS",
        "import_max_rows",
        "1000000",
        "Records one import reads at most; the rest of the file is reported as one import error.",
        _positive_int,
    ),
    Setting(
        "SIXDEG_IMPORT_MAX_FIELD_LENGTH",
        "import_max_field_length",
        "1000",
        "Characters kept of any one contact field; longer values are cut.",
        _positive_int,
    ),
    Setting(
        "SIXDEG_IMPORT_HELPER_MIN_ROWS",
        "import_helper_min_rows",
        "5000",
        "Imports of at least this many records read and normalize their file in a helper process beside the "
        "worker, so a multi-core machine writes one batch while it prepares the next; 0 never does.",
        _non_negative_int,
    ),
    Setting(
        "SIXDEG_MIGRATE_ON_BOOT",
        "migrate_on_boot",
        "1",
        "1 to upgrade the database schema when a process starts (under a lock), 0 to leave it.",
        lambda v, raw: _parse_bool(v, raw),
    ),
)


LOG_FORMATS = ("auto", "json", "console")


def _check_choice(var: str, raw: str, choices: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{var}={raw!r} must be one of: {', '.join(choices)}")
    return value


def _check_environment(var: str, raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", raw.strip()):
        raise ConfigError(f"{var}={raw!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return raw.strip()


def _check_index_name(var: str, raw: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_]{0,39}", raw):
        raise ConfigError(f"{var}={raw!r} must be 1-40 lowercase letters, digits or underscores")
    return raw


def _parse_bool(var: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{var}={raw!r} is not a boolean (use 1 or 0)")


@dataclass(frozen=True)
class Config:
    """The resolved settings of one process. Build it with `Config.from_env()`."""

    data_dir: Path = Path("./var")
    database_url: str = ""
    broker_url: str = "memory"
    graph_url: str = "sql"
    search_url: str = "sqlite"
    search_index: str = "people"
    secret_key: str = ""
    sentry_dsn: str = ""
    environment: str = "development"
    log_format: str = "auto"
    metrics: bool = True
    metrics_port: int = 9191
    web_dir: Path | None = None
    backup_dir: Path = Path("./var/backups")
    ratelimit_storage: str = "memory://"
    worker_threads: int = 4
    worker_prefetch: int = 4
    backend_timeout: float = 5.0
    ready_timeout: float = 2.0
    outbox_grace: float = 30.0
    migrate_on_boot: bool = True
    cookie_secure: bool = False
    session_days: int = 30
    max_body_bytes: int = 1024 * 1024
    webhook_max_bytes: int = 256 * 1024
    backup_rate_bytes: int = 1024 * 1024
    max_upload_bytes: int = 100 * 1024 * 1024
    ratelimit_default: str = "1200/minute"
    ratelimit_auth: str = "10/minute;100/hour"
    import_max_rows: int = 1_000_000
    import_max_field_length: int = 1000
    import_helper_min_rows: int = 5_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Config:
        """Read every setting from `environ` (default os.environ); keyword overrides win."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.env)
            if raw is None or raw == "":
                raw = setting.default
            if raw is None:
                continue
            values[setting.attr] = setting.parse(setting.env, raw)
        values.update(overrides)
        data_dir = Path(values.get("data_dir", Path("./var")))  # type: ignore[arg-type]
        values["data_dir"] = data_dir
        if not values.get("database_url"):
            values["database_url"] = f"sqlite:///{(data_dir / 'sixdeg.db').as_posix()}"
        if not values.get("backup_dir"):
            values["backup_dir"] = data_dir / "backups"
        if not values.get("secret_key"):
            values["secret_key"] = _embedded_secret_key(data_dir)
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**values)  # type: ignore[arg-type]

    @property
    def database_kind(self) -> str:
        """'sqlite' or 'postgresql'."""
        return "sqlite" if _scheme(self.database_url) == "sqlite" else "postgresql"

    @property
    def broker_kind(self) -> str:
        """'memory' or 'rabbitmq'."""
        return "memory" if self.broker_url == "memory" else "rabbitmq"

    @property
    def graph_kind(self) -> str:
        """'sql' or 'neo4j'."""
        return "sql" if self.graph_url == "sql" else "neo4j"

    @property
    def search_kind(self) -> str:
        """'sqlite', 'opensearch' or 'elasticsearch'."""
        return _scheme(self.search_url).split("+", 1)[0]

    @property
    def search_http_url(self) -> str:
        """The search server's plain http(s) URL (the engine prefix removed)."""
        scheme, rest = self.search_url.split("://", 1)
        return f"{scheme.split('+', 1)[1]}://{rest}"


def _embedded_secret_key(data_dir: Path) -> str:
    """Generate a secret key once for the embedded default and keep it in the data dir (mode 0600)."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".secret_key.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)  # atomic: exactly one process's key wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, doc) for every setting, for `sixdeg config` and the README."""
    return [(s.env, s.default if s.default is not None else "(derived)", s.doc) for s in SETTINGS]
