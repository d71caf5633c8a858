"""The `sixdeg` command line: the same names are used by tests, benchmarks and operators."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from dataclasses import asdict

import click

from pipelines.config import Config, ConfigError, describe


def _load_config() -> Config:
    try:
        return Config.from_env()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("pika").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
def main(verbose: bool) -> None:
    """sixdeg: explore your personal network."""
    _setup_logging(verbose)


@main.command()
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
def migrate(revision: str) -> None:
    """Upgrade the database schema (safe to run from several processes at once)."""
    from pipelines.migrate import upgrade

    config = _load_config()
    after = upgrade(config, revision)
    click.echo(f"database at revision {after} ({config.database_kind})")


@main.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_config(as_json: bool) -> None:
    """List every setting with its default and what it does."""
    rows = describe()
    if as_json:
        click.echo(json.dumps([{"env": e, "default": d, "doc": doc} for e, d, doc in rows], indent=2))
        return
    for env, default, doc in rows:
        click.echo(f"{env:28} {default:12} {doc}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def doctor(as_json: bool) -> None:
    """Check that every configured backend answers (the same checks as /readyz)."""
    from pipelines.health import check_backends

    results = check_backends(_load_config())
    if as_json:
        click.echo(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for r in results:
            mark = click.style("ok  ", fg="green") if r.ok else click.style("FAIL", fg="red")
            click.echo(f"{mark} {r.backend:9} {r.kind:14} {r.detail}")
    if not all(r.ok for r in results):
        sys.exit(1)


@main.group()
def user() -> None:
    """Manage accounts."""


def _read_password() -> str:
    """The password from stdin: piped (first line), or typed twice at a prompt without echo."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@user.command("create")
@click.argument("email")
def user_create(email: str) -> None:
    """Create an account; the password is read from stdin (e.g. `echo "$PW" | sixdeg user create EMAIL`)."""
    from pipelines import accounts
    from pipelines.db import unit_of_work
    from pipelines.migrate import migrate_on_boot

    config = _load_config()
    migrate_on_boot(config)
    password = _read_password()
    try:
        with unit_of_work(config) as session:
            created = accounts.create_user(session, email, password)
            user_id, normalized, person_id = created.id, created.email, created.person_id
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created user {user_id} <{normalized}> (person {person_id})")


@main.command()
@click.option("--user", "email", required=True, help="Whose data to export.")
@click.option("--format", "fmt", type=click.Choice(["json", "vcard"]), default="json", show_default=True)
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="File (default: stdout).")
def export(email: str, fmt: str, output: click.utils.LazyFile) -> None:
    """Export everything a user owns (JSON), or their contacts as vCard 4.0."""
    from sqlalchemy import select

    from pipelines import ownership
    from pipelines.accounts import AccountError, normalize_email
    from pipelines.db import unit_of_work
    from pipelines.models import User

    config = _load_config()
    try:
        email = normalize_email(email)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    with unit_of_work(config) as session:
        owner = session.scalar(select(User).where(User.email == email))
        if owner is None:
            raise click.ClickException(f"no user {email}; create one with `sixdeg user create {email}`")
        if fmt == "json":
            json.dump(ownership.export_user(session, owner), output, indent=2, ensure_ascii=False)
            output.write("\n")
        else:
            for card in ownership.export_vcards(session, owner):
                output.write(card)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="HTTP server threads.")
def serve(host: str, port: int, threads: int) -> None:
    """Run everything in one process: API, web app, worker threads and the scheduler."""
    import waitress

    config = _load_config()
    from actors import broker as broker_setup

    broker = broker_setup.setup(config)
    from api import create_app
    from scheduler import Scheduler

    app = create_app(config)
    worker = broker_setup.start_worker(broker, config)
    scheduler = Scheduler(config)
    scheduler.start_in_thread()
    server = waitress.create_server(app, host=host, port=port, threads=threads)

    def _interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    click.echo(
        f"sixdeg serving on http://{host}:{port}  (database: {config.database_kind}, broker: "
        f"{config.broker_kind}, graph: {config.graph_kind}, search: {config.search_kind}); Ctrl-C stops it"
    )
    started = time.monotonic()
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopping…")
    finally:
        server.close()
        scheduler.stop()
        worker.stop(timeout=10_000)
        broker.close()
        click.echo(f"stopped after {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
