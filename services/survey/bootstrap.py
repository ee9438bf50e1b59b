"""Survey's composition root."""

from __future__ import annotations

from datetime import timedelta

from minwon.bus import Bus
from minwon.docstore import DocumentStore
from minwon.outbox import Relay
from minwon.service import Clock, Service, system_clock
from minwon.settings import Settings
from services.survey import api, consumers
from services.survey.handlers import Surveys
from services.survey.settings import SurveySettings
from services.survey.store import SurveyStore

PREFIXES = ("/api/v1/surveys",)
"""The URL prefixes of survey's routes (the gateway routes them here; its requests' ``service`` label)."""


def bootstrap(
    settings: Settings,
    *,
    store: DocumentStore,
    bus: Bus,
    clock: Clock = system_clock,
    own: SurveySettings | None = None,
) -> Service:
    own = own or SurveySettings()
    relay = Relay.configured(bus, settings)
    surveys = Surveys(
        store=SurveyStore(store, relay, clock),
        clock=clock,
        source=f"{settings.source}/survey",
        secret=settings.survey_secret.encode(),
        delay=timedelta(seconds=own.invite_delay_seconds),
        valid_for=timedelta(days=own.token_valid_days),
        max_age=timedelta(days=own.max_invite_age_days),
        low_threshold=own.low_score_threshold,
        followup_days=own.followup_working_days,
        improvement_months=own.improvement_months,
        report_title=own.report_title,
    )

    async def invite_due() -> None:
        await surveys.invite_due()

    return Service(
        name="survey",
        store=store,
        bus=bus,
        relay=relay,
        routes=api.routes(surveys),
        subscriptions=consumers.subscriptions(surveys),
        loops=[
            ("invitations", own.loop_interval_seconds or settings.timer_interval_seconds, invite_due),
            ("gauges", own.gauge_interval_seconds, store.scans.paced("gauges", surveys.refresh_gauges)),
        ],
        on_start=[surveys.store.setup],
    )
