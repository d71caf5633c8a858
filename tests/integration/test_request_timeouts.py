"""API requests' statements give up after the backend timeout; workers' statements are not cut short."""

from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from pipelines.db import dispose_engines, session_factory


def test_request_sessions_time_out_and_worker_sessions_do_not(postgres_config):
    config = replace(postgres_config, backend_timeout=0.5)
    dispose_engines()  # engines are cached per URL: build them with this timeout
    try:
        with (
            session_factory(config, for_requests=True)() as request_session,
            pytest.raises(OperationalError, match="statement timeout"),
        ):
            request_session.execute(text("SELECT pg_sleep(1)"))
        with session_factory(config)() as worker_session:
            worker_session.execute(text("SELECT pg_sleep(1)"))
    finally:
        dispose_engines()
