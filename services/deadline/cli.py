"""The deadline service's commands (registered by ``apps.cli``)::

    minwon deadline compute --received <ISO> (--kind K | --period 3h|40h|5d|14d|2w|1m|1y)
                            [--statutory-type T] [--pause <ISO>/<ISO>]... [--extend <period>]
                            [--holiday YYYY-MM-DD]...
    minwon deadline recount-statistics
    minwon replay deadline --from beginning|<ISO> [--dry-run] [--republish] [--quiet]

``compute`` prints the due time as JSON (exit 2 and a JSON error naming the flag on
bad input). ``replay`` works on the backend the environment names
(``MINWON_BACKEND``: embedded ``MINWON_DATA_DIR``; distributed Kafka + MongoDB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime
from typing import Any

from minwon.outbox import Relay
from minwon.settings import Settings
from services.deadline import domain

COMMANDS = ("deadline", "replay")


def register(sub: Any) -> None:
    deadline = sub.add_parser("deadline", help="deadline tools (compute a legal due time)")
    commands = deadline.add_subparsers(dest="deadline_command", required=True)
    compute = commands.add_parser("compute", help="print a complaint's legal due time, warning and escalations")
    compute.add_argument("--received", required=True, metavar="ISO", help="receipt instant with offset")
    which = compute.add_mutually_exclusive_group(required=True)
    which.add_argument("--kind", help=f"one of {', '.join(k.value for k in domain.Kind)}")
    which.add_argument("--period", help="3h, 40h, 5d, 14d, 2w, 1m, 1y or immediate")
    compute.add_argument("--statutory-type", help="the type of a statutory complaint (민원처리기준표)")
    compute.add_argument(
        "--pause",
        action="append",
        default=[],
        metavar="ISO/ISO",
        help="a supplementation wait (보완), start/end; repeatable",
    )
    compute.add_argument("--extend", metavar="PERIOD", help="a first extension (연장)")
    compute.add_argument(
        "--holiday",
        action="append",
        default=[],
        metavar="YYYY-MM-DD",
        help="an extra non-working day (임시공휴일); repeatable",
    )

    commands.add_parser(
        "recount-statistics",
        help="rebuild the processing-statistics counters from the clocks (stop the deadline "
        "service first; docs/statistics.md)",
    )

    replay = sub.add_parser("replay", help="rebuild a service's state from the event log, or republish its events")
    replay.add_argument("service", choices=["deadline"])
    replay.add_argument(
        "--from",
        dest="start",
        default="beginning",
        metavar="beginning|ISO",
        help="where in the log to start (default: the beginning)",
    )
    replay.add_argument(
        "--dry-run",
        action="store_true",
        help="rebuild into a throwaway store and report what would change; write nothing",
    )
    replay.add_argument(
        "--republish", action="store_true", help="re-send the signal events of the window with their original ids"
    )
    replay.add_argument("--quiet", action="store_true", help="no progress line")


def main(args: argparse.Namespace) -> int:
    if args.command == "deadline" and args.deadline_command == "recount-statistics":
        print(json.dumps(asyncio.run(recount(Settings())), ensure_ascii=False, indent=2))
        return 0
    if args.command == "deadline":
        try:
            print(json.dumps(compute(args), ensure_ascii=False, indent=2))
        except domain.DeadlineError as error:
            _error(error.code, str(error), error.field)
            return 2
        return 0
    if args.command == "replay":
        try:
            since = _since(args.start)
        except domain.DeadlineError as error:
            _error(error.code, str(error), error.field)
            return 2
        if args.republish and args.dry_run:
            _error("invalid", "--republish and --dry-run do not go together", "--dry-run")
            return 2
        result = asyncio.run(
            replay(Settings(), since=since, dry_run=args.dry_run, republish=args.republish, quiet=args.quiet)
        )
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    raise SystemExit(f"unknown command {args.command}")


def compute(args: argparse.Namespace) -> dict[str, Any]:
    """``minwon deadline compute``: the same JSON as ``POST /api/v1/deadlines/preview``."""
    from minwon.workcal import WorkCalendar

    received = _instant(args.received, "--received")
    pauses = []
    for i, raw in enumerate(args.pause):
        start, sep, end = raw.partition("/")
        if not sep:
            raise domain.InvalidPause(f"--pause[{i}]", f"a pause is START/END, got {raw!r}")
        pauses.append((_instant(start, f"--pause[{i}]"), _instant(end, f"--pause[{i}]")))
    try:
        holidays = [date.fromisoformat(h) for h in args.holiday]
    except ValueError as error:
        raise domain.InvalidInstant("--holiday", f"a holiday is YYYY-MM-DD: {error}") from None
    calendar = WorkCalendar().with_holidays(holidays)
    statutory = None
    if args.statutory_type:
        types = domain.load_statutory_types(domain.STATUTORY_TYPES_PATH.read_text(encoding="utf-8"))
        statutory = domain.find_statutory_type(types, args.statutory_type)
    try:
        return domain.what_if(
            received,
            calendar,
            kind=args.kind,
            period=args.period,
            statutory_type=statutory,
            pauses=pauses,
            extend_by=args.extend,
        )
    except domain.DeadlineError as error:
        flag = {
            "kind": "--kind",
            "period": "--period",
            "extend": "--extend",
            "by": "--extend",
            "statutory_type": "--statutory-type",
            "received_at": "--received",
        }.get(error.field, error.field)
        if error.field.startswith("pauses["):
            flag = "--pause[" + error.field.removeprefix("pauses[")
        raise type(error)(flag, str(error)) from None


async def replay(
    settings: Settings, *, since: datetime | None, dry_run: bool = False, republish: bool = False, quiet: bool = False
) -> dict[str, Any]:
    """``minwon replay deadline``, on the bus and the deadline store the settings name."""
    from minwon import topics
    from minwon.host import build_infrastructure
    from services.deadline import replay as r
    from services.deadline.bootstrap import build
    from services.deadline.consumers import INPUTS

    infra = build_infrastructure(settings, ["deadline"])
    bus, store = infra.bus, infra.stores["deadline"]
    names = [topics.DEADLINES] if republish else [topics.DEADLINES, *INPUTS]
    label = "republish deadline" if republish else "replay deadline"
    progress = r.default_progress(label, bus, names, quiet=quiet, whole_log=since is None)
    try:
        if republish:
            return await r.republish(bus, since=since, progress=progress)
        if dry_run:
            return (await r.dry_run(settings, bus, store, since=since, progress=progress)).to_dict()
        deadlines = build(settings, store=store, bus=bus, relay=Relay(bus))  # clears at once: no relay loop here
        return (await r.rebuild(deadlines, bus, since=since, progress=progress)).to_dict()
    finally:
        await bus.stop()
        await infra.close()


async def recount(settings: Settings) -> dict[str, Any]:
    """``minwon deadline recount-statistics``, on the deadline store the settings name."""
    from minwon.host import build_infrastructure
    from services.deadline.bootstrap import build

    infra = build_infrastructure(settings, ["deadline"])
    try:
        deadlines = build(settings, store=infra.stores["deadline"], bus=infra.bus, relay=Relay(infra.bus))
        return {"cells_written": await deadlines.recount_statistics()}
    finally:
        await infra.close()


def _since(raw: str) -> datetime | None:
    if raw == "beginning":
        return None
    return _instant(raw, "--from")


def _instant(raw: str, flag: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise domain.InvalidInstant(flag, f"{flag}: not an ISO 8601 instant: {raw!r}") from None
    if value.tzinfo is None:
        raise domain.InvalidInstant(flag, f"{flag}: give a UTC offset, e.g. 2026-03-10T10:00:00+09:00")
    return value


def _error(code: str, message: str, field: str | None) -> None:
    body: dict[str, Any] = {"error": code, "message": message}
    if field:
        body["fields"] = [{"field": field, "message": message}]
    print(json.dumps(body, ensure_ascii=False), file=sys.stderr)
