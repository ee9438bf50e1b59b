"""``minwon web`` (or ``minwon service web``): the web front alone, calling the services' APIs at
``MINWON_WEB_API_URL`` (default: this host's ``MINWON_HTTP_PORT``). ``minwon run`` already serves
it beside the APIs on one port."""

from __future__ import annotations

import argparse
from typing import Any

COMMANDS = ("web",)


def register(sub: Any) -> None:
    web = sub.add_parser("web", help="the web console and citizen portal alone (the APIs run elsewhere)")
    web.add_argument("--port", type=int, help="where the web front listens (default: MINWON_WEB_PORT, 8080)")


def serve(port: int | None = None) -> None:
    import uvicorn

    from minwon import telemetry
    from minwon.settings import Settings
    from services.web.app import create_app
    from services.web.settings import WebSettings

    settings, own = Settings(), WebSettings()
    telemetry.configure_logging(settings.log_level)
    telemetry.configure_tracing("minwon-web", settings.otlp_endpoint)
    uvicorn.run(create_app(settings, own), host=settings.http_host, port=port or own.port, log_config=None,
                access_log=False)


def main(args: argparse.Namespace) -> int:
    serve(args.port)
    return 0
