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
import sys
from collections.abc import Sequence
from types import ModuleType

from apps.registry import SERVICES
from minwon import backup, deadletters

FRONTS = ("web",)
"""Parts that are not services but have commands of their own (services/web/cli.py)."""


def _commands() -> list[ModuleType]:
    """The modules with commands: each service's ``cli.py`` where it has one, then the platform's."""
    found = []
    for name in (*SERVICES, *FRONTS):
        try:
            found.append(importlib.import_module(f"services.{name}.cli"))
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{name}.cli":
                raise
    return [*found, deadletters, backup]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="minwon", description="Civil-complaint (민원) handling")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="all six services in one process")
    run.add_argument("--port", type=int)
    run.add_argument("--backend", choices=["embedded", "distributed"])

    svc = sub.add_parser("service", help="one service")
    svc.add_argument("name", choices=(*SERVICES, *FRONTS))
    svc.add_argument("--port", type=int)

    extras: dict[str, ModuleType] = {}
    for module in _commands():
        module.register(sub)
        extras.update(dict.fromkeys(getattr(module, "COMMANDS", ()), module))

    args = parser.parse_args(argv)
    if args.command in ("run", "service"):
        from apps import host

        if args.command == "run":
            host.run(args.port, args.backend)
        else:
            host.run_service(args.name, args.port)
        return 0
    return int(extras[args.command].main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
