"""/metrics: Prometheus exposition for scrapers.

Open to a key with scope `admin`, or to a direct loopback client (a Prometheus agent on
the same host) without a key: scrapers rarely carry bearer tokens, and the counters reveal
traffic volumes, not content. A request relayed by a reverse proxy is never treated as
loopback (see api.auth), so exposing the app through a proxy does not open /metrics.
"""

from __future__ import annotations

from flask import Blueprint, Response

from api.auth import admin_or_loopback
from api.services import services

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
@admin_or_loopback
def metrics() -> Response:
    """Prometheus text format, aggregated over every gunicorn worker in multiprocess mode."""
    return services().metrics.exposition()
