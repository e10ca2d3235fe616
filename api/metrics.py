"""/metrics: Prometheus exposition for scrapers.

Open to a key with scope `admin`, or to a direct loopback client (a Prometheus agent on
the same host) without a key: scrapers rarely carry bearer tokens, and the counters reveal
traffic volumes, not content. A request relayed by a reverse proxy is never treated as
loopback (see api.auth), so exposing the app through a proxy does not open /metrics.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from flask.blueprints import BlueprintSetupState

from api.auth import admin_or_loopback
from api.quality_metrics import QualityMetrics
from api.services import EXTENSION_KEY, Services, services

bp = Blueprint("metrics", __name__)
QUALITY_KEY = "vigie.quality_metrics"


@bp.record_once
def _install_quality_metrics(state: BlueprintSetupState) -> None:
    svc: Services = state.app.extensions[EXTENSION_KEY]
    state.app.extensions[QUALITY_KEY] = QualityMetrics(
        svc.session_factory, svc.settings.quality_metrics_cache_s
    )


@bp.get("/metrics")
@admin_or_loopback
def metrics() -> Response:
    """Prometheus text format, aggregated over every gunicorn worker in multiprocess mode, followed
    by the quality gauges (computed from the database, cached; see api.quality_metrics)."""
    response = services().metrics.exposition()
    quality: QualityMetrics = current_app.extensions[QUALITY_KEY]
    response.set_data(response.get_data() + quality.exposition())
    return response
