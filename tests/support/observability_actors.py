"""An actor that fails with contact details everywhere it can (message, locals, logs), for the Sentry and log
scrubbing tests; run by a real `dramatiq` worker (tests/integration/test_observability.py)."""

import logging

import dramatiq

QUEUE = "obs-test"
NAME = "Zebulon Quackenbush"
EMAIL = "zebulon.quackenbush@example.org"
PHONE = "+44 20 7946 0321"

log = logging.getLogger(__name__)


@dramatiq.actor(actor_name="obs_test.leaky", queue_name=QUEUE, max_retries=0)
def leaky(row: int) -> None:
    contact = {"name": NAME, "email": EMAIL, "phone": PHONE}  # a local variable holding contact data
    log.info("processing row %s: <%s> %s", row, contact["email"], contact["phone"])  # redacted on the way out
    raise RuntimeError(f"cannot merge {contact['name']!r} <{contact['email']}> tel {contact['phone']} (row {row})")


@dramatiq.actor(actor_name="obs_test.fine", queue_name=QUEUE, max_retries=0)
def fine(row: int) -> int:
    log.info("fine row %s", row)
    return row
