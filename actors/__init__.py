"""Dramatiq actors: a few lines each (decode ids, open a unit of work, call pipelines/).

Importing this package builds the broker from the environment first (actors/broker.py), then declares
every actor on it, so `dramatiq actors --queues ...` works as is.
"""

from actors import broker as _broker

_broker.setup()

from actors import backups, contacts, maintenance, projections, webhooks  # noqa: E402  (after the broker exists)

__all__ = ["backups", "contacts", "maintenance", "projections", "webhooks"]
