"""The ``minwon`` command.

    minwon run                       all six services in one process (embedded default)
    minwon service <name>            one service (distributed: Kafka + MongoDB)
    minwon replay deadline ...       rebuild or republish from the event log
    minwon deadline compute ...      print a legal due time as JSON
    minwon deadletter ...            list, show and redrive dead letters
    minwon backup|restore <dir>      copy the embedded mode's SQLite files (minwon.backup)
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from minwon import backup, deadletters
from minwon.host import SERVICES
from minwon.settings import Settings


def _serve(names: Sequence[str], settings: Settings) -> None:
    import uvicorn

    from minwon import telemetry
    from minwon.host import build_app

    telemetry.configure_logging(settings.log_level)
    telemetry.configure_tracing("minwon" if len(names) > 1 else f"minwon-{names[0]}", settings.otlp_endpoint)
    app = build_app(settings, names)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="minwon", description="Civil-complaint (민원) handling")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="all six services in one process")
    run.add_argument("--port", type=int)
    run.add_argument("--backend", choices=["embedded", "distributed"])

    svc = sub.add_parser("service", help="one service")
    svc.add_argument("name", choices=(*SERVICES, "web"))
    svc.add_argument("--port", type=int)

    # Service-specific commands live beside their service (services/<name>/cli.py).
    extras = {}
    for name in (*SERVICES, "web"):
        try:
            module = importlib.import_module(f"services.{name}.cli")
        except ModuleNotFoundError:
            continue
        module.register(sub)
        extras.update(dict.fromkeys(getattr(module, "COMMANDS", ()), module))
    deadletters.register(sub)
    extras.update(dict.fromkeys(deadletters.COMMANDS, deadletters))
    backup.register(sub)
    extras.update(dict.fromkeys(backup.COMMANDS, backup))

    args = parser.parse_args(argv)
    if args.command == "run":
        overrides = {"backend": args.backend} if args.backend else {}
        settings = Settings(**overrides)
        if args.port:
            settings.http_port = args.port
        _serve(SERVICES, settings)
        return 0
    if args.command == "service" and args.name == "web":
        from services.web.cli import serve

        serve(args.port)
        return 0
    if args.command == "service":
        settings = Settings() if "MINWON_BACKEND" in os.environ else Settings(backend="distributed")
        if args.port:
            settings.http_port = args.port
        _serve([args.name], settings)
        return 0
    return int(extras[args.command].main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
