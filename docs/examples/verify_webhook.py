"""Verify a minwon webhook delivery — copy this file into your receiver (standard library only).

Every POST from minwon carries

    X-Minwon-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

where ``secret`` is the ``whsec_...`` value shown once when the subscription was created. Verify the
**raw** body bytes (before any JSON parsing), refuse a timestamp more than five minutes from your
clock (a replayed capture), compare in constant time, and answer 2xx only after you have stored the
event. Events can arrive more than once (retries; replays carry ``X-Minwon-Replay: true``): keep the
CloudEvents ``id`` and drop one you have seen.

    python docs/examples/verify_webhook.py 8080 whsec_...     # a tiny receiver that prints what it accepts
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

TOLERANCE_SECONDS = 5 * 60
HEADER = "X-Minwon-Signature"


class InvalidSignature(Exception):
    """The delivery is not from minwon, was altered, or is too old."""


def verify(
    body: bytes, header: str | None, secret: str, *, tolerance: float = TOLERANCE_SECONDS, now: float | None = None
) -> int:
    """Check ``X-Minwon-Signature`` for the raw ``body``; return its timestamp or raise :class:`InvalidSignature`."""
    if not header:
        raise InvalidSignature("no signature header")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidSignature("malformed timestamp") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("malformed signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("timestamp outside the tolerance")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidSignature("signature mismatch")
    return timestamp


def main(port: int, secret: str) -> None:
    seen: set[str] = set()  # use your database in earnest

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                verify(body, self.headers.get(HEADER), secret)
            except InvalidSignature as error:
                self.send_response(401)
                self.end_headers()
                self.wfile.write(str(error).encode())
                return
            event = json.loads(body)
            if event["id"] not in seen:
                seen.add(event["id"])
                replay = self.headers.get("X-Minwon-Replay") == "true"
                print(event["time"], event["type"], event["data"]["complaint_id"], "(replay)" if replay else "")
            self.send_response(204)
            self.end_headers()

    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
