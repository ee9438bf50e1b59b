"""The services minwon is made of: their URL prefixes (each service declares its own, ``PREFIXES`` in
its ``bootstrap.py``), the topics each writes (:mod:`minwon.topics`), the secrets and settings each
uses, and the web front that one process serving all of them adds."""

from __future__ import annotations

import json
from collections.abc import Sequence

from litestar.types import ControllerRouterHandler

from minwon.host import Registry, ServiceEntry
from minwon.settings import Settings
from minwon.topics import TOPICS
from services.compensation import bootstrap as compensation
from services.compensation import metrics as compensation_metrics
from services.deadline import bootstrap as deadline
from services.deadline import metrics as deadline_metrics
from services.intake import bootstrap as intake
from services.intake import metrics as intake_metrics
from services.notification import bootstrap as notification
from services.notification import metrics as notification_metrics
from services.routing import bootstrap as routing
from services.routing import metrics as routing_metrics
from services.survey import bootstrap as survey
from services.survey import metrics as survey_metrics


def _known_departments() -> list[str]:
    """The department directory's codes (routing's ``departments.json``)."""
    from services.routing.settings import RoutingSettings

    try:
        listed = json.loads((RoutingSettings().data_dir / "departments.json").read_text("utf-8"))
        return [str(d["code"]) for d in listed]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _web(settings: Settings) -> Sequence[ControllerRouterHandler]:
    """The web console and citizen portal (services/web), calling the services' APIs on the same port."""
    from services.web.app import routes

    return routes(settings)


REGISTRY = Registry(
    services=(
        ServiceEntry(
            "intake",
            intake.bootstrap,
            intake.PREFIXES,
            secrets=("pii_key", "contacts_key", "check_code_secret"),
            initialise_metrics=intake_metrics.initialise,
        ),
        ServiceEntry(
            "routing",
            routing.bootstrap,
            routing.PREFIXES,
            secrets=("contacts_key",),
            initialise_metrics=routing_metrics.initialise,
        ),
        ServiceEntry("deadline", deadline.bootstrap, deadline.PREFIXES, initialise_metrics=deadline_metrics.initialise),
        ServiceEntry(
            "notification",
            notification.bootstrap,
            notification.PREFIXES,
            secrets=("contacts_key",),
            settings=(
                "services.notification.settings:NotificationSettings",
                "services.notification.agencies.public:PublicSettings",
            ),
            initialise_metrics=notification_metrics.initialise,
        ),
        ServiceEntry(
            "compensation",
            compensation.bootstrap,
            compensation.PREFIXES,
            settings=("services.compensation.settings:CompensationSettings",),
            initialise_metrics=compensation_metrics.initialise,
        ),
        ServiceEntry(
            "survey",
            survey.bootstrap,
            survey.PREFIXES,
            secrets=("survey_secret",),
            initialise_metrics=survey_metrics.initialise,
        ),
    ),
    front=_web,
    front_settings=("services.web.settings:WebSettings",),
    departments=_known_departments,
)

SERVICES = REGISTRY.names
PREFIXES = REGISTRY.prefixes
"""``{URL prefix: service}``: the gateway's table (deploy/docker/api-gateway.conf; tests/deploy/test_web.py)."""
SECRETS = {e.name: e.secrets for e in REGISTRY.services}
"""The shared secrets each service is given (docker-compose.yml, k8s)."""


def topics_of(name: str) -> tuple[str, ...]:
    """The topics ``name`` writes."""
    return tuple(t.name for t in TOPICS if t.owner == name)
