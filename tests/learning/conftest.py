"""Learning-loop fixtures (rule packs, models, shadow mode, backtests, quality): the shared
database/Redis/settings fixtures of tests/conftest.py, plus the worker fixtures of
tests/integration and the API fixtures of tests/api, re-exported so tests here can use both.

Keep this file generic: fixtures specific to one feature belong in that feature's test module."""

from __future__ import annotations

from tests.api.conftest import (  # noqa: F401 - fixtures
    api_settings,
    app,
    bearer,
    client,
    make_app,
    make_key,
    message_body,
    submitter,
)
from tests.integration.conftest import (  # noqa: F401 - fixtures
    SCAM_TEXT,
    assessment_count,
    run_burst,
    submit_message,
    worker_ctx,
)
