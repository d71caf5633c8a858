"""What a worker process does once it has booted, with the middleware every `dramatiq actors` command uses."""

from __future__ import annotations

import gc

from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from actors.broker import default_middleware


def test_a_booted_worker_keeps_its_loaded_objects_out_of_the_collectors_passes():
    gc.unfreeze()
    broker = StubBroker(middleware=default_middleware())
    worker = Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        frozen = gc.get_freeze_count()
    finally:
        worker.stop()
        gc.unfreeze()
    assert frozen > 10_000, f"only {frozen} objects were frozen at worker boot"
