"""Operators' dead-letter tools (registered by ``apps.cli``)::

    minwon deadletter list [--all] [--group G] [--topic T] [--json]
    minwon deadletter show <letter-id>
    minwon deadletter redrive <letter-id> | --all [--group G] [--topic T] [--dry-run]

A consumer that keeps failing on a record writes a letter
(``kr.minwon.deadletter.message.v1``, id ``<event id>:<group>``) to
``minwon.deadletter.v1`` holding the original event, or the raw record when it
could not be parsed. To redrive a letter is to publish its event (same id) to its
original topic again: every consumer drops ids it has already handled, so only
the group that failed does the work again. Each redrive is recorded on the
same topic as ``kr.minwon.deadletter.redriven.v1``, so ``list`` hides a letter once
it was redriven and a second redrive of it is refused. If the redriven event
fails again, its group writes a new letter with the same id: that letter is
pending again.

Works on the backend the settings name (``MINWON_BACKEND``): embedded, the event
log ``<MINWON_DATA_DIR>/events.db``; distributed, Kafka
(``KAFKA_BOOTSTRAP_SERVERS``, ``MINWON_KAFKA_TOPIC_PREFIX``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from minwon import contracts
from minwon.bus import DEADLETTER_TYPE, Bus, KafkaBus, KafkaSecurity, SqliteBus
from minwon.events import Event, derive_id
from minwon.settings import Settings
from minwon.topics import DEADLETTER

COMMANDS = ("deadletter",)

LETTER = DEADLETTER_TYPE
REDRIVEN = contracts.DEADLETTER_REDRIVEN
SOURCE = "/minwon/operator"


class DeadLetterError(Exception):
    """A letter that is not there, or cannot be redriven; the message says why."""


@dataclass(frozen=True)
class Letter:
    """One dead letter as the operator sees it (the latest copy of its id)."""

    id: str
    time: datetime
    subject: str
    group: str | None
    topic: str | None
    error: str | None
    attempts: int | None
    event: Event | None  # the original event, when the record was one
    raw: str | None  # the record's text, when it could not be parsed
    position: str | None  # where the raw record was (partition/offset or log seq)
    redriven_at: str | None = None

    @classmethod
    def from_event(cls, letter: Event) -> Letter:
        data = letter.data
        original = None
        if isinstance(data.get("event"), dict):
            try:
                original = Event.model_validate(data["event"])
            except ValidationError:
                original = None
        attempts = data.get("attempts")
        raw = data.get("raw")
        return cls(
            id=letter.id,
            time=letter.time,
            subject=letter.subject,
            group=data.get("group"),
            topic=data.get("topic"),
            error=data.get("error"),
            attempts=attempts if isinstance(attempts, int) else None,
            event=original,
            raw=raw if raw is None or isinstance(raw, str) else json.dumps(raw, ensure_ascii=False),
            position=None if data.get("position") is None else str(data["position"]),
        )

    @property
    def status(self) -> str:
        return "redriven" if self.redriven_at else "pending"

    def refusal(self) -> str | None:
        """Why this letter cannot be redriven, or None."""
        if self.redriven_at:
            return (
                f"letter {self.id} was already redriven at {self.redriven_at}; if its group failed again, "
                "a new letter with the same id appears in `minwon deadletter list`"
            )
        if self.event is None:
            where = f" at {self.position}" if self.position else ""
            kind = "an unparsable record" if self.raw is not None else "no original event"
            return (
                f"letter {self.id} holds {kind}{where} from {self.topic or 'an unknown topic'}, "
                "not an event: it cannot be redriven; fix the producer, then publish a corrected event by hand"
            )
        if not self.topic:
            return f"letter {self.id} does not name the topic its event came from: it cannot be redriven"
        return None

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "status": self.status,
            "redriven_at": self.redriven_at,
            "group": self.group,
            "topic": self.topic,
            "attempts": self.attempts,
            "error": self.error,
            "subject": self.subject,
            "event_id": self.event.id if self.event else None,
            "event_type": self.event.type if self.event else None,
            "unparsable": self.raw is not None,
            "position": self.position,
        }

    def detail(self) -> dict[str, Any]:
        out = self.summary()
        if self.event is not None:
            out["event"] = self.event.to_doc()
        if self.raw is not None:
            out["raw"] = self.raw
        return out


# ------------------------------------------------------------------ rules (no I/O)


def collect(events: Iterable[Event]) -> list[Letter]:
    """The letters among ``events`` (the dead-letter topic), oldest first, each with its redrive.

    A letter id seen twice (a group that failed again after a redrive, or a letter written twice) keeps its
    latest copy; a redrive counts for the copy it names (``letter_time``), so a letter written again after
    its redrive is pending again.
    """
    latest: dict[str, Letter] = {}
    redrives: dict[tuple[str, str], str] = {}
    for event in events:
        if event.type == LETTER:
            letter = Letter.from_event(event)
            if letter.id not in latest or letter.time >= latest[letter.id].time:
                latest[letter.id] = letter
        elif event.type == REDRIVEN and isinstance(event.data.get("letter_id"), str):
            key = (event.data["letter_id"], str(event.data.get("letter_time")))
            redrives[key] = str(event.data.get("at") or event.time.isoformat())
    out = []
    for letter in sorted(latest.values(), key=lambda x: (x.time, x.id)):
        at = redrives.get((letter.id, letter.time.isoformat()))
        out.append(replace(letter, redriven_at=at) if at else letter)
    return out


def select(
    letters: Iterable[Letter], *, everything: bool = False, group: str | None = None, topic: str | None = None
) -> list[Letter]:
    return [
        x
        for x in letters
        if (everything or not x.redriven_at)
        and (group is None or x.group == group)
        and (topic is None or x.topic == topic)
    ]


def find(letters: Sequence[Letter], letter_id: str) -> Letter:
    """The letter with this id, or the only one whose id starts with it."""
    for letter in letters:
        if letter.id == letter_id:
            return letter
    matches = [x for x in letters if x.id.startswith(letter_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise DeadLetterError(f"{len(matches)} letters start with {letter_id!r}: give more of the id")
    raise DeadLetterError(f"no dead letter {letter_id!r} on {DEADLETTER}")


def redriven(letter: Letter, at: datetime) -> Event:
    """The record of a redrive; keyed like the letter, so both land on the same partition."""
    return Event.new(
        REDRIVEN,
        source=SOURCE,
        subject=letter.subject,
        time=at,
        id=derive_id(letter.id, letter.time.isoformat(), "redriven"),
        data={
            "letter_id": letter.id,
            "letter_time": letter.time.isoformat(),
            "at": at.isoformat(),
            "group": letter.group,
            "topic": letter.topic,
            "event_id": letter.event.id if letter.event else None,
        },
    )


# ------------------------------------------------------------------ on a bus


async def read(bus: Bus) -> list[Letter]:
    return collect([event async for _, event in bus.read([DEADLETTER])])


async def redrive(bus: Bus, letter: Letter, *, at: datetime, dry_run: bool = False) -> None:
    """Publish the letter's event to its topic again, then record the redrive. Raises DeadLetterError when
    the letter cannot be redriven. The event goes first: if the record is lost, a second redrive only
    repeats an event every consumer drops."""
    why = letter.refusal()
    if why:
        raise DeadLetterError(why)
    assert letter.event is not None and letter.topic is not None
    if dry_run:
        return
    await bus.publish(letter.topic, letter.event)
    await bus.publish(DEADLETTER, redriven(letter, at))


def open_bus(settings: Settings) -> Bus:
    if settings.backend == "embedded":
        path = settings.data_dir / "events.db"
        if not path.is_file():
            raise DeadLetterError(f"no event log at {path} (set MINWON_DATA_DIR, or MINWON_BACKEND=distributed)")
        return SqliteBus(path)
    return KafkaBus(
        settings.kafka_bootstrap_servers,
        client_id="minwon-deadletter",
        prefix=settings.kafka_topic_prefix,
        partitions=settings.kafka_partitions,
        security=KafkaSecurity.from_settings(settings),
    )


async def close_bus(bus: Bus) -> None:
    await bus.stop()
    close = getattr(bus, "close", None)
    if close:
        close()


# ------------------------------------------------------------------ command line


def register(sub: Any) -> None:
    parser = sub.add_parser("deadletter", help="list, show and redrive dead letters (minwon.deadletter.v1)")
    commands = parser.add_subparsers(dest="deadletter_command", required=True)

    listing = commands.add_parser("list", help="letters not yet redriven, oldest first")
    listing.add_argument("--all", action="store_true", dest="everything", help="redriven letters too")
    listing.add_argument("--group", help="only letters of this consumer group")
    listing.add_argument("--topic", help="only letters of events from this topic")
    listing.add_argument("--json", action="store_true", help="a JSON array instead of a table")

    show = commands.add_parser("show", help="one letter with its original event, as JSON")
    show.add_argument("letter_id", help="a letter id (or its unique beginning)")

    again = commands.add_parser("redrive", help="publish a letter's event to its topic again")
    again.add_argument("letter_id", nargs="?", help="a letter id (or its unique beginning)")
    again.add_argument("--all", action="store_true", dest="everything", help="every letter not yet redriven")
    again.add_argument("--group", help="with --all: only letters of this consumer group")
    again.add_argument("--topic", help="with --all: only letters of events from this topic")
    again.add_argument("--dry-run", action="store_true", help="say what would be redriven; publish nothing")


def main(args: argparse.Namespace) -> int:
    if args.deadletter_command == "redrive":
        if bool(args.letter_id) == args.everything:
            print("minwon deadletter redrive: give a letter id or --all (not both)", file=sys.stderr)
            return 2
        if args.letter_id and (args.group or args.topic):
            print("minwon deadletter redrive: --group and --topic go with --all", file=sys.stderr)
            return 2
    try:
        return asyncio.run(_run(Settings(), args))
    except DeadLetterError as error:
        print(f"minwon deadletter: {error}", file=sys.stderr)
        return 1


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    bus = open_bus(settings)
    try:
        letters = await read(bus)
        if args.deadletter_command == "list":
            chosen = select(letters, everything=args.everything, group=args.group, topic=args.topic)
            print(
                json.dumps([x.summary() for x in chosen], ensure_ascii=False, indent=2) if args.json else table(chosen)
            )
        elif args.deadletter_command == "show":
            print(json.dumps(find(letters, args.letter_id).detail(), ensure_ascii=False, indent=2))
        elif args.letter_id:
            await _redrive_one(bus, find(letters, args.letter_id), dry_run=args.dry_run)
        else:
            done = skipped = 0
            for letter in select(letters, group=args.group, topic=args.topic):
                try:
                    await _redrive_one(bus, letter, dry_run=args.dry_run)
                    done += 1
                except DeadLetterError as why:
                    print(f"skipped: {why}", file=sys.stderr)
                    skipped += 1
            print(f"{done} {'to redrive' if args.dry_run else 'redriven'}, {skipped} skipped")
        return 0
    finally:
        await close_bus(bus)


async def _redrive_one(bus: Bus, letter: Letter, *, dry_run: bool) -> None:
    await redrive(bus, letter, at=datetime.now(UTC), dry_run=dry_run)
    assert letter.event is not None
    print(
        f"{'would redrive' if dry_run else 'redriven'} {letter.id}: {letter.event.type} {letter.event.id} "
        f"-> {letter.topic}"
    )


def table(letters: Sequence[Letter]) -> str:
    if not letters:
        return "no dead letters"
    head = ("LETTER", "DEAD-LETTERED AT", "STATUS", "GROUP", "TOPIC", "ATTEMPTS", "EVENT", "ERROR")
    rows = [
        (
            x.id,
            x.time.isoformat(timespec="seconds"),
            x.status,
            x.group or "-",
            x.topic or "-",
            "-" if x.attempts is None else str(x.attempts),
            x.event.type if x.event else f"raw@{x.position or '?'}",
            _short(x.error or "-", 60),
        )
        for x in letters
    ]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)), r[-1]]) for r in (head, *rows)
    )


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
