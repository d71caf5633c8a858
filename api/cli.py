"""The `sixdeg` command line: the same names are used by tests, benchmarks and operators."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click

from pipelines.config import Config, ConfigError, describe
from pipelines.deadletters import DeadLetterError, DeadLetters, format_age

FORMATS = ("auto", "linkedin", "google", "outlook", "thunderbird", "csv", "vcard")


def _load_config() -> Config:
    try:
        return Config.from_env()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


def _setup_logging(verbose: bool = False) -> None:
    """Structured logs (SIXDEG_LOG_FORMAT: human-readable on a terminal, JSON otherwise), redacted."""
    import os

    from pipelines.config import LOG_FORMATS
    from pipelines.observability.logs import configure_logging

    log_format = os.environ.get("SIXDEG_LOG_FORMAT", "auto").strip().lower()
    configure_logging(
        log_format if log_format in LOG_FORMATS else "auto", level=logging.DEBUG if verbose else logging.INFO
    )


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


def _user_by_email(session: object, email: str) -> object:
    from sqlalchemy import select

    from pipelines.accounts import AccountError, normalize_email
    from pipelines.models import User

    try:
        email = normalize_email(email)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    found = session.scalar(select(User).where(User.email == email))  # type: ignore[attr-defined]
    if found is None:
        raise click.ClickException(f"no user {email}; create one with `sixdeg user create {email}`")
    return found


@main.command()
@click.option("--user", "email", required=True, help="Whose data to export.")
@click.option("--format", "fmt", type=click.Choice(["json", "vcard"]), default="json", show_default=True)
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="File (default: stdout).")
def export(email: str, fmt: str, output: click.utils.LazyFile) -> None:
    """Export everything a user owns (JSON), or their contacts as vCard 4.0."""
    from pipelines import ownership
    from pipelines.db import unit_of_work

    with unit_of_work(_load_config()) as session:
        owner = _user_by_email(session, email)
        if fmt == "json":
            json.dump(ownership.export_user(session, owner), output, indent=2, ensure_ascii=False)
            output.write("\n")
        else:
            for card in ownership.export_vcards(session, owner):
                output.write(card)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "email", required=True, help="Whose contacts these are.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True)
@click.option("--region", help="ISO country for phone numbers without a +country code, e.g. DE.")
@click.option("--source", "source_name", help="Source name (default: the format's name).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (no progress bar).")
def import_command(
    file: Path, email: str, fmt: str, region: str | None, source_name: str | None, as_json: bool
) -> None:
    """Import a contact file through the queue, with a progress bar, and print a summary."""
    from actors import broker as broker_setup
    from pipelines.contacts import importer
    from pipelines.db import unit_of_work
    from pipelines.migrate import migrate_on_boot
    from pipelines.models import Import, ImportStatus

    config = _load_config()
    migrate_on_boot(config)
    broker = broker_setup.setup(config)
    worker = broker_setup.start_worker(broker, config) if config.broker_kind == "memory" else None
    try:
        with unit_of_work(config) as session:
            owner = _user_by_email(session, email)
            stored = importer.copy_local_file(config, file)
            try:
                job = importer.request_import(
                    session,
                    config,
                    owner,
                    stored,
                    filename=file.name,
                    fmt=fmt,
                    default_region=region,
                    source_name=source_name,
                )
            except importer.ImportRefused as exc:
                raise click.ClickException(f"{file.name}: {exc}") from None
            import_id, total = job.id, job.rows_total

        def poll() -> Import:
            with unit_of_work(config) as session:
                current = session.get(Import, import_id)
                assert current is not None
                return current

        finished = (ImportStatus.done, ImportStatus.failed)
        current = poll()
        if as_json:
            while current.status not in finished:
                time.sleep(0.2)
                current = poll()
        else:
            with click.progressbar(
                length=max(total, 1), label=f"importing {file.name}", show_eta=True, show_pos=True
            ) as bar:
                shown = 0
                while current.status not in finished:
                    time.sleep(0.2)
                    current = poll()
                    step = min(current.rows_done, max(total, 1)) - shown
                    if step > 0:
                        bar.update(step)
                        shown += step
                bar.update(max(total, 1) - shown)
    finally:
        if worker is not None:
            worker.stop(timeout=10_000)
    summary = {
        "import_id": current.id,
        "status": current.status.value,
        "format": current.format,
        "rows": current.rows_done,
        "people_created": current.people_created,
        "people_merged": current.people_merged,
        "contacts": current.contacts,
        "contacts_updated": current.contacts_updated,
        "contacts_unchanged": current.contacts_unchanged,
        "errors": current.errors,
        "failure": current.failure,
        "seconds": round((current.finished_at - current.requested_at).total_seconds(), 3)
        if current.finished_at
        else None,
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"{summary['status']}: {summary['rows']} rows → {summary['contacts']} new contacts, "
            f"{summary['contacts_updated']} updated, {summary['contacts_unchanged']} unchanged; "
            f"{summary['people_created']} new people, {summary['people_merged']} merged; "
            f"{summary['errors']} rows not imported"
            + (f" (see GET /v1/imports/{current.id}/errors)" if summary["errors"] else "")
        )
    if current.status == ImportStatus.failed:
        raise click.ClickException(f"import failed: {current.failure}")


@main.group()
def merges() -> None:
    """List and undo merges of people."""


@merges.command("list")
@click.option("--user", "email", help="Only merges made by this user's imports.")
@click.option("--json", "as_json", is_flag=True)
def merges_list(email: str | None, as_json: bool) -> None:
    """Merges, newest first, with their reasons."""
    from sqlalchemy import select

    from pipelines.db import unit_of_work
    from pipelines.models import Merge

    with unit_of_work(_load_config()) as session:
        query = select(Merge).order_by(Merge.id.desc())
        if email:
            query = query.where(Merge.user_id == _user_by_email(session, email).id)  # type: ignore[attr-defined]
        rows = [
            {
                "id": m.id,
                "survivor_id": m.survivor_id,
                "merged_id": m.merged_id,
                "reason": m.reason,
                "created_at": m.created_at.isoformat(),
                "undone_at": m.undone_at.isoformat() if m.undone_at else None,
            }
            for m in session.scalars(query)
        ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        state = f"undone {row['undone_at']}" if row["undone_at"] else "active"
        click.echo(f"{row['id']:>6}  person {row['merged_id']} → {row['survivor_id']}  {row['reason']}  ({state})")


@merges.command("undo")
@click.argument("merge_id", type=int)
def merges_undo(merge_id: int) -> None:
    """Undo a merge: the merged person comes back with its identities, contacts and edges."""
    from pipelines.contacts.merge import MergeRefused, undo_merge
    from pipelines.db import unit_of_work

    try:
        with unit_of_work(_load_config()) as session:
            merge = undo_merge(session, merge_id)
            click.echo(f"undone: person {merge.merged_id} is separate from person {merge.survivor_id} again")
    except MergeRefused as exc:
        raise click.ClickException(str(exc)) from None


@main.command("load-graph")
@click.argument("edgelist", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--names",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with node ids and names (a column called name).",
)
@click.option("--json", "as_json", is_flag=True)
def load_graph_command(edgelist: Path, names: Path | None, as_json: bool) -> None:
    """Bulk-load a social network (SNAP edge list): one person per node (identity key:<node>), unowned edges."""
    from pipelines.graph import load
    from pipelines.migrate import migrate_on_boot

    config = _load_config()
    migrate_on_boot(config)
    started = time.monotonic()
    counts = load.load_graph(config, load.read_edge_list(edgelist), load.read_names(names) if names else None)
    counts.update(load.rebuild_stores(config))
    counts["seconds"] = round(time.monotonic() - started, 2)
    click.echo(
        json.dumps(counts)
        if as_json
        else f"loaded {edgelist.name}: {counts.get('people', 0)} new people, {counts.get('edges', 0)} new edges "
        f"in {counts['seconds']} s"
    )


@main.command()
@click.argument("source")
@click.argument("target")
@click.option("--max-hops", default=6, show_default=True, type=click.IntRange(1, 6))
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 20))
@click.option("--user", "email", help="Answer as this user (their sharing rules); default: every edge.")
@click.option("--json", "as_json", is_flag=True)
def path(source: str, target: str, max_hops: int, limit: int, email: str | None, as_json: bool) -> None:
    """How SOURCE is connected to TARGET (person id, email or key:<node>): the best paths, each hop explained."""
    from pipelines.db import unit_of_work
    from pipelines.graph import queries
    from pipelines.graph.stores import graph_store

    config = _load_config()
    with unit_of_work(config) as session:
        viewer = _user_by_email(session, email) if email else None
        ends = [queries.resolve_person(session, ref) for ref in (source, target)]
        for ref, found in zip((source, target), ends, strict=True):
            if found is None:
                raise click.ClickException(f"nobody matches {ref!r} (a person id, an email or key:<node>)")
        found_paths = queries.paths_between(
            session,
            graph_store(config),
            ends[0],
            ends[1],
            viewer,  # type: ignore[arg-type]
            max_hops=max_hops,
            limit=limit,
        )
    if as_json:
        click.echo(json.dumps({"source": ends[0], "target": ends[1], "paths": found_paths}))
        return
    if not found_paths:
        click.echo(f"not connected within {max_hops} hops")
        return
    for number, item in enumerate(found_paths, 1):
        names = " → ".join(p["name"] or str(p["id"]) for p in item["people"])
        click.echo(f"{number}. {item['hops']} hops, strength {item['strength']:.4f}: {names}")


@main.group()
def rebuild() -> None:
    """Rebuild a projection from Postgres."""


@rebuild.command("graph")
def rebuild_graph() -> None:
    """Empty Neo4j and refill it from Postgres, streamed in batches."""
    from pipelines.graph.stores import rebuild as rebuild_store

    config = _load_config()
    if config.graph_kind != "neo4j":
        click.echo("SIXDEG_GRAPH_URL is sql: paths are answered from the database itself; nothing to rebuild")
        return
    counts = rebuild_store(config, progress=lambda what, n: click.echo(f"  {what}: {n}", err=True))
    click.echo(f"graph rebuilt: {counts['people']} people, {counts['edges']} edges")


@rebuild.command("search")
def rebuild_search() -> None:
    """Build a new search index from Postgres, swap it in atomically and drop the old one; searches keep
    answering from the old index until the swap."""
    from pipelines.search.stores import rebuild as rebuild_index

    config = _load_config()
    with click.progressbar(length=1, label="indexing people", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        counts = rebuild_index(config, progress=progress)
    click.echo(
        f"search rebuilt on {config.search_kind}: {counts['people']} people indexed, "
        f"{counts['removed']} removed as deleted meanwhile, {counts['old_generations']} old index(es) dropped"
    )


@main.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--user", "email", help="Search as this user (only people they may see); default: everyone.")
@click.option("--company", help="Only people at this company.")
@click.option("--degree", type=click.Choice(["1", "2", "3"]), multiple=True, help="Only people this many hops away.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True)
def search(
    query: tuple[str, ...], email: str | None, company: str | None, degree: tuple[str, ...], limit: int, as_json: bool
) -> None:
    """Find people by name, company, title, location or email domain (typos and accents forgiven)."""
    from pipelines.db import unit_of_work
    from pipelines.graph.stores import graph_store
    from pipelines.search.queries import search_people
    from pipelines.search.stores import search_index

    config = _load_config()
    with unit_of_work(config) as session:
        viewer = _user_by_email(session, email) if email else None
        if degree and viewer is None:
            raise click.ClickException("--degree needs --user: degrees are counted from a user")
        found = search_people(
            config,
            session,
            search_index(config),
            graph_store(config),
            viewer,  # type: ignore[arg-type]
            q=" ".join(query),
            company=company,
            degree={int(d) for d in degree} or None,
            limit=limit,
        )
    if as_json:
        click.echo(json.dumps(found))
        return
    if not found["items"]:
        click.echo("nobody matches")
        return
    click.echo(f"{found['total']} match{'es' if found['total'] != 1 else ''}")
    for item in found["items"]:
        where = ", ".join(x for x in (item["title"], item["company"], item["location"]) if x)
        hops = f"  [{item['degree']}°]" if item["degree"] is not None else ""
        click.echo(f"  {item['id']:>8}  {item['name']}{'  ·  ' + where if where else ''}{hops}")


@main.command()
@click.option("--list", "list_only", is_flag=True, help="List the backups instead of making one.")
@click.option("--json", "as_json", is_flag=True)
def backup(list_only: bool, as_json: bool) -> None:
    """Back up the database to SIXDEG_BACKUP_DIR (pg_dump custom format, or SQLite's backup API) with a manifest."""
    from pipelines import backups

    config = _load_config()
    try:
        if list_only:
            found = [b.manifest for b in backups.list_backups(config)]
            if as_json:
                click.echo(json.dumps(found))
            for manifest in [] if as_json else found:
                rows = ", ".join(f"{n} {k}" for k, n in manifest["rows"].items())
                click.echo(f"{manifest['file']}  {manifest['created_at']}  {manifest['bytes']} bytes  {rows}")
            return
        made = backups.create_backup(config)
        backups.apply_retention(config)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(made.manifest))
    else:
        click.echo(f"backup written: {made.path} ({made.manifest['bytes']} bytes in {made.manifest['seconds']} s)")


@main.command()
@click.argument("backup_ref", metavar="BACKUP")
def restore(backup_ref: str) -> None:
    """Restore BACKUP (a file, its name, or 'latest') into the configured, empty database; then rebuild the Neo4j
    graph and the search index from it."""
    from pipelines import backups
    from pipelines.graph.stores import rebuild as rebuild_graph
    from pipelines.migrate import upgrade
    from pipelines.search.stores import rebuild as rebuild_search

    config = _load_config()
    try:
        found = backups.find_backup(config, backup_ref)
        counts = backups.restore(config, found)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {found.path.name}: {counts['people']} people, {counts['contacts']} contacts")
    upgrade(config)  # a backup from an older release is brought to this release's schema
    if config.graph_kind == "neo4j":
        graph = rebuild_graph(config)
        click.echo(f"graph rebuilt: {graph['people']} people, {graph['edges']} edges")
    search = rebuild_search(config)
    click.echo(f"search rebuilt: {search['people']} people indexed")


# --- dead letters (pipelines/deadletters.py does the work) ------------------------------------------------------


@main.group()
def dlq() -> None:
    """Inspect, replay and purge dead-lettered messages (RabbitMQ `<queue>.XQ`)."""


_queue_option = click.option(
    "--queue",
    "queues",
    multiple=True,
    help="Work queue whose dead letters to use (repeatable; default: every actor's queue).",
)


def _dlq_queues(queues: tuple[str, ...]) -> list[str]:
    """The queues given, or every queue an actor is declared on."""
    if queues:
        return list(dict.fromkeys(queues))
    import dramatiq

    import actors  # noqa: F401  (declares every actor on the broker)

    return sorted({actor.queue_name for actor in dramatiq.get_broker().actors.values()})


def _dead_letters() -> DeadLetters:
    config = _load_config()
    try:
        return DeadLetters(config.broker_url, timeout=config.backend_timeout)
    except DeadLetterError as exc:
        raise click.ClickException(str(exc)) from None


@dlq.command("list")
@_queue_option
@click.option("--limit", type=click.IntRange(1), help="Show at most this many.")
@click.option("--json", "as_json", is_flag=True)
def dlq_list(queues: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """List dead letters: id, actor, queue, age and the last failure Dramatiq recorded."""
    names = _dlq_queues(queues)
    with _dead_letters() as store:
        try:
            letters = store.list(names, limit)
            counts = store.counts(names)
        except DeadLetterError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"counts": counts, "items": [letter.summary() for letter in letters]}, indent=2))
        return
    for name, count in counts.items():
        click.echo(f"{name:40} {'(not declared)' if count is None else count}")
    if letters:
        click.echo("")
        click.echo(f"{'MESSAGE ID':36}  {'ACTOR':30}  {'QUEUE':14}  {'AGE':>5}  REASON")
    for letter in letters:
        reason = letter.reason or f"{letter.death_reason or 'rejected'} (no traceback kept)"
        click.echo(
            f"{letter.message_id:36}  {letter.actor_name:30}  {letter.queue_name:14}  "
            f"{format_age(letter.age_seconds()):>5}  {reason[:100]}"
        )


@dlq.command("show")
@click.argument("message_id")
@_queue_option
@click.option("--json", "as_json", is_flag=True)
def dlq_show(message_id: str, queues: tuple[str, ...], as_json: bool) -> None:
    """Show one dead letter in full: arguments, options and the traceback Dramatiq kept."""
    with _dead_letters() as store:
        try:
            letter = store.get(_dlq_queues(queues), message_id)
        except DeadLetterError as exc:
            raise click.ClickException(str(exc)) from None
    summary = letter.summary(with_traceback=True)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        if key != "traceback":
            click.echo(f"{key:18} {json.dumps(value) if isinstance(value, dict | list) else value}")
    click.echo(f"traceback\n{summary['traceback'] or '(none kept: see the worker log for the final failure)'}")


def _dlq_act(action: str, message_id: str | None, all_: bool, queues: tuple[str, ...], as_json: bool) -> None:
    if (message_id is None) == (not all_):
        raise click.UsageError(f"give one MESSAGE_ID or --all (`sixdeg dlq list` shows the ids) to {action}")
    with _dead_letters() as store:
        try:
            done = getattr(store, action)(_dlq_queues(queues), message_id)
        except DeadLetterError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({action: [letter.summary() for letter in done]}, indent=2))
        return
    verb = "replayed" if action == "replay" else "purged"
    for letter in done:
        target = f" → {letter.queue_name}" if action == "replay" else ""
        click.echo(f"{verb} {letter.message_id} ({letter.actor_name}){target}")
    click.echo(f"{len(done)} message{'s' if len(done) != 1 else ''} {verb}")


@dlq.command("replay")
@click.argument("message_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Replay every dead letter of the queues.")
@_queue_option
@click.option("--json", "as_json", is_flag=True)
def dlq_replay(message_id: str | None, all_: bool, queues: tuple[str, ...], as_json: bool) -> None:
    """Re-publish dead letters to their queue (same id and arguments, a fresh retry budget); each leaves the
    dead-letter queue only after RabbitMQ confirmed the copy. Fix the cause first."""
    _dlq_act("replay", message_id, all_, queues, as_json)


@dlq.command("purge")
@click.argument("message_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Delete every dead letter of the queues.")
@_queue_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
def dlq_purge(message_id: str | None, all_: bool, queues: tuple[str, ...], yes: bool, as_json: bool) -> None:
    """Delete dead letters for good (one by id, or --all)."""
    if not yes:
        what = message_id or "every dead letter of " + ", ".join(_dlq_queues(queues))
        click.confirm(f"Delete {what} for good?", abort=True)
    _dlq_act("purge", message_id, all_, queues, as_json)


def _seed_demo(config: Config, seed: int = 6) -> object:
    """Migrate and seed the demo network with a progress bar; a ClickException when the database holds real
    users (nothing is seeded then)."""
    from sqlalchemy.exc import SQLAlchemyError

    from pipelines.demo import DemoRefused, seed_demo

    bar: object = None

    def progress(done: int, total: int, label: str) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(
                length=total, label="seeding the demo network", item_show_func=lambda item: item, file=sys.stderr
            )
            bar.__enter__()  # type: ignore[attr-defined]
        bar.update(done - bar.pos, label)  # type: ignore[attr-defined]

    try:
        summary = seed_demo(config, seed=seed, progress=progress)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the database cannot be used: {exc}") from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)  # type: ignore[attr-defined]
    if summary.seeded:
        click.echo(
            f"demo network seeded in {summary.seconds} s: {summary.users} users, {summary.contacts} contacts, "
            f"{summary.people} people, {summary.merges} merges, {summary.suggestions} merge suggestions"
        )
    else:
        click.echo(
            f"demo network already there: {summary.users} users, {summary.contacts} contacts, {summary.people} people"
        )
    return summary


def _demo_login() -> str:
    from pipelines.demo import DEMO_EMAIL, DEMO_PASSWORD

    return f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD}"


@main.command()
@click.option("--check", is_flag=True, help="Only check: exit 0 if this database may get the demo, 1 if not.")
@click.option("--seed", default=6, show_default=True, type=int, help="Seed of the generated network.")
def demo(check: bool, seed: int) -> None:
    """Seed a demo account with a generated network into an empty database (see docs/demo.md)."""
    from sqlalchemy.exc import SQLAlchemyError

    from pipelines.demo import demo_refusal

    config = _load_config()
    if check:
        try:
            reason = demo_refusal(config)
        except SQLAlchemyError as exc:
            raise click.ClickException(f"the database cannot be used: {exc}") from None
        if reason:
            click.echo(f"not eligible for the demo: {reason}")
            sys.exit(1)
        click.echo("eligible for the demo: the database is empty or holds only demo users")
        return
    _seed_demo(config, seed)
    click.echo(_demo_login())
    from sqlalchemy import select

    from pipelines.db import unit_of_work
    from pipelines.demo import DEMO_EMAIL
    from pipelines.models import User

    with unit_of_work(config) as session:
        others = session.scalars(select(User.email).where(User.email != DEMO_EMAIL).order_by(User.id)).all()
    if others:
        click.echo(f"Other demo users (same password, they share their networks): {', '.join(others)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="HTTP server threads.")
@click.option(
    "--demo",
    "with_demo",
    is_flag=True,
    help="First seed a demo account with a generated network (empty database only; see docs/demo.md).",
)
@click.option(
    "--no-scheduler",
    "without_scheduler",
    is_flag=True,
    help="Fire no scheduled jobs (backups, sweeps) from this process: run `python -m scheduler` beside it, or "
    "nothing (benchmarks, so that a backup due at start does not run during their measurements).",
)
def serve(host: str, port: int, threads: int, with_demo: bool, without_scheduler: bool) -> None:
    """Run everything in one process: API, web app, worker threads and the scheduler."""
    import waitress

    config = _load_config()
    if with_demo:
        # Before the broker and its workers exist: the seeding runs the imports itself, and the messages its
        # commits leave in the outbox are sent by the sweeper (the import jobs are done by then: no-ops).
        _seed_demo(config)
    from actors import broker as broker_setup

    broker = broker_setup.setup(config)
    from api import create_app
    from scheduler import Scheduler

    app = create_app(config)
    if with_demo:
        from pipelines.demo import DEMO_EMAIL, DEMO_PASSWORD

        app.config["SIXDEG_DEMO"] = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    worker = broker_setup.start_worker(broker, config)
    scheduler = None if without_scheduler else Scheduler(config)
    if scheduler is not None:
        scheduler.start_in_thread()
    server = waitress.create_server(app, host=host, port=port, threads=threads)

    def _interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    click.echo(
        f"sixdeg serving on http://{host}:{port}  (database: {config.database_kind}, broker: "
        f"{config.broker_kind}, graph: {config.graph_kind}, search: {config.search_kind}); Ctrl-C stops it"
    )
    if with_demo:
        click.echo(_demo_login())
    started = time.monotonic()
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopping…")
    finally:
        server.close()
        if scheduler is not None:
            scheduler.stop()
        worker.stop(timeout=10_000)
        broker.close()
        click.echo(f"stopped after {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
