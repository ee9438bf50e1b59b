"""Intake's commands (registered by ``apps.cli``)::

    minwon keys reseal [--batch N]   seal every complaint's personal data again under the current key
    minwon keys status               how many values are still sealed under an old key

Key rotation (docs/privacy.md): set the new key as ``MINWON_PII_KEY`` / ``MINWON_PII_KEY_ID`` and
the old one in ``MINWON_PII_OLD_KEYS`` (``id=base64key``), restart intake, run ``minwon keys reseal``
(resumable: it continues from the last page done), check ``minwon keys status`` says 0, then remove
the old key. Works on the backend the environment names, while the services run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from minwon.settings import Settings

COMMANDS = ("keys",)


def register(sub: Any) -> None:
    keys = sub.add_parser("keys", help="personal-data key rotation (reseal under the current key)")
    commands = keys.add_subparsers(dest="keys_command", required=True)
    reseal = commands.add_parser("reseal", help="seal personal data under an old key again under the current one")
    reseal.add_argument("--batch", type=int, default=200, help="complaints per page (default 200)")
    reseal.add_argument("--quiet", action="store_true", help="no progress lines")
    commands.add_parser("status", help="count the complaints whose personal data is under an old key")


def main(args: argparse.Namespace) -> int:
    return asyncio.run(_run(Settings(), args))


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from minwon.host import build_infrastructure
    from minwon.outbox import Relay
    from services.intake import attachments_handlers, domain
    from services.intake.bootstrap import build

    infra = build_infrastructure(settings, ["intake"])
    try:
        intake = build(settings, store=infra.stores["intake"], relay=Relay(infra.bus))
        if args.keys_command == "reseal":

            def progress(state: dict[str, Any]) -> None:
                if not args.quiet:
                    print(
                        f"checked {state['checked']}, resealed {state['resealed']}, last {state['cursor']}",
                        file=sys.stderr,
                        flush=True,
                    )

            done = await intake.reseal(batch=args.batch, progress=progress)
            files = attachments_handlers.build(settings, intake, infra.stores["intake"])
            try:  # the attachments' files and names too (docs/attachments.md)
                done["attachments"] = await files.reseal(batch=args.batch)
            finally:
                await files.store.blobs.close()
            print(json.dumps(done))
            return 0
        stale = checked = 0
        cursor = None
        while True:
            page = await intake.store.list(where={}, after=cursor, limit=500)
            checked += len(page)
            stale += sum(1 for d in page if domain.needs_reseal(d, stale=intake.pii.needs_rotation))
            if len(page) < 500:
                break
            cursor = page[-1]["_id"]
        print(json.dumps({"key_id": intake.pii.key_id, "checked": checked, "under_old_keys": stale}))
        return 0
    finally:
        await infra.close()
