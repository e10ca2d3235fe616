"""Hostile-input fixtures: the API fixtures of tests/api (app on the test's Settings, keys)."""

from tests.api.conftest import api_settings, app, client, make_app, make_key  # noqa: F401
