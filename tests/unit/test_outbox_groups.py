"""How the outbox groups rows into messages: rows of an actor that takes any number of ids share a message."""

from pipelines import outbox
from pipelines.models import OutboxMessage

TOGETHER = "tests.takes_many_ids"


def _row(row_id: int, actor: str = TOGETHER, args=None, kwargs=None, options=None, queue="q") -> OutboxMessage:
    return OutboxMessage(
        id=row_id,
        message_id=f"m{row_id}",
        actor_name=actor,
        queue_name=queue,
        args=[row_id] if args is None else args,
        kwargs=kwargs or {},
        options=options or {},
    )


def _ids(groups) -> list[list[int]]:
    return [[row.id for row in group] for group in groups]


def test_rows_of_an_actor_published_together_share_a_message_per_queue_in_order():
    outbox.publish_together(TOGETHER)
    rows = [_row(1), _row(2, actor="tests.one_at_a_time"), _row(3), _row(4, queue="other"), _row(5)]
    assert _ids(outbox.message_groups(rows)) == [[1, 3, 5], [2], [4]]


def test_rows_with_keyword_arguments_several_arguments_or_a_delay_go_alone():
    outbox.publish_together(TOGETHER)
    rows = [
        _row(1),
        _row(2, kwargs={"force": True}),
        _row(3, args=[3, 4]),
        _row(4, options={"delay": 1000}),
        _row(5),
    ]
    assert _ids(outbox.message_groups(rows)) == [[1, 5], [2], [3], [4]]


def test_a_message_names_at_most_the_limit_of_ids():
    outbox.publish_together(TOGETHER)
    rows = [_row(number) for number in range(1, outbox.MAX_IDS_PER_MESSAGE + 3)]
    groups = outbox.message_groups(rows)
    assert [len(group) for group in groups] == [outbox.MAX_IDS_PER_MESSAGE, 2]
    assert [row.id for group in groups for row in group] == [row.id for row in rows]


def test_an_actor_not_registered_gets_a_message_per_row():
    rows = [_row(1, actor="tests.never_registered"), _row(2, actor="tests.never_registered")]
    assert _ids(outbox.message_groups(rows)) == [[1], [2]]


def test_a_message_for_rows_published_together_names_their_ids_without_a_request_id():
    outbox.publish_together(TOGETHER)
    rows = [_row(1, options={"request_id": "r1"}), _row(2, options={"request_id": "r2"}), _row(3, actor="tests.alone")]
    together, alone = outbox.outgoing_messages(rows)
    assert (together.args, together.options, together.actor_name) == ((1, 2), {}, TOGETHER)
    assert together.message_id not in {"m1", "m2"}
    assert [row.id for row in together.rows] == [1, 2]
    assert (alone.args, alone.message_id, alone.rows) == ((3,), "m3", [rows[2]])
