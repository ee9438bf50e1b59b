#!/usr/bin/env python3
"""Readiness probes for the local infrastructure, standard library only.

    probe.py kafka HOST:PORT   -> exit 0 when the broker answers a Metadata request
                                  and lists at least one (registered, unfenced) broker
    probe.py mongo HOST:PORT   -> exit 0 when the server answers {ping: 1} with ok: 1
    probe.py oidc ISSUER_URL   -> exit 0 when the issuer's OpenID discovery document names
                                  that issuer and its JWKS holds at least one key

    --wait SECONDS   keep retrying (every 0.25 s) for that long; exit 1 if still not ready
    --pid PID        stop early with exit 3 when that process has exited

A TCP connect is not enough for either: the Kafka socket accepts connections before
the KRaft broker has registered with its controller, and a wire-protocol answer is
what proves FerretDB's handler is usable; an identity provider's port answers before
its realm is imported.  Used by deploy/local/infra.sh and keycloak.sh so that
`up` works before any Python dependency of the project is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import time
import urllib.request

TIMEOUT = 3.0


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by peer")
        buf.extend(chunk)
    return bytes(buf)


def _split(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host or "127.0.0.1", int(port)


# --------------------------------------------------------------------------- Kafka
def probe_kafka(addr: str) -> str:
    """Metadata v1 request for no topics; returns a description of the brokers."""
    api_key, api_version, correlation_id = 3, 1, 7
    client_id = b"minwon-probe"
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(client_id)) + client_id
    body = struct.pack(">i", 0)  # topics: empty array (v1: no topics, just brokers)
    request = header + body
    with socket.create_connection(_split(addr), timeout=TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        data = _recv_exact(sock, size)
    pos = 0
    (corr,) = struct.unpack_from(">i", data, pos)
    pos += 4
    if corr != correlation_id:
        raise RuntimeError(f"unexpected correlation id {corr}")
    (n_brokers,) = struct.unpack_from(">i", data, pos)
    pos += 4
    brokers = []
    for _ in range(max(n_brokers, 0)):
        (node_id,) = struct.unpack_from(">i", data, pos)
        pos += 4
        (hlen,) = struct.unpack_from(">h", data, pos)
        pos += 2
        host = data[pos : pos + hlen].decode()
        pos += hlen
        (port,) = struct.unpack_from(">i", data, pos)
        pos += 4
        (rlen,) = struct.unpack_from(">h", data, pos)
        pos += 2 + max(rlen, 0)
        brokers.append(f"{node_id}@{host}:{port}")
    if not brokers:
        raise RuntimeError("broker answered but lists no registered broker yet")
    return "brokers " + ", ".join(brokers)


# --------------------------------------------------------------------------- MongoDB wire
def _bson_doc(items: list[tuple[str, object]]) -> bytes:
    out = bytearray()
    for key, value in items:
        name = key.encode() + b"\x00"
        if isinstance(value, int):
            out += b"\x10" + name + struct.pack("<i", value)
        elif isinstance(value, str):
            raw = value.encode() + b"\x00"
            out += b"\x02" + name + struct.pack("<i", len(raw)) + raw
        else:  # pragma: no cover - only ints and strings are needed here
            raise TypeError(type(value))
    return struct.pack("<i", len(out) + 5) + bytes(out) + b"\x00"


def _bson_top_level(doc: bytes) -> dict[str, object]:
    """Decode the scalar top-level fields of a BSON document (enough for ok/errmsg)."""
    result: dict[str, object] = {}
    pos, end = 4, len(doc) - 1
    while pos < end:
        etype = doc[pos]
        pos += 1
        nul = doc.index(b"\x00", pos)
        name = doc[pos:nul].decode()
        pos = nul + 1
        if etype == 0x01:
            result[name] = struct.unpack_from("<d", doc, pos)[0]
            pos += 8
        elif etype == 0x02:
            (n,) = struct.unpack_from("<i", doc, pos)
            result[name] = doc[pos + 4 : pos + 3 + n].decode(errors="replace")
            pos += 4 + n
        elif etype in (0x03, 0x04):
            (n,) = struct.unpack_from("<i", doc, pos)
            pos += n
        elif etype == 0x08:
            result[name] = doc[pos] != 0
            pos += 1
        elif etype == 0x10:
            result[name] = struct.unpack_from("<i", doc, pos)[0]
            pos += 4
        elif etype in (0x09, 0x11, 0x12):
            result[name] = struct.unpack_from("<q", doc, pos)[0]
            pos += 8
        elif etype == 0x0A:
            result[name] = None
        else:
            break  # a type we do not need; "ok" comes before such fields in practice
    return result


def probe_mongo(addr: str) -> str:
    """OP_MSG {ping: 1, $db: "admin"}."""
    body = struct.pack("<I", 0) + b"\x00" + _bson_doc([("ping", 1), ("$db", "admin")])
    request_id = 42
    message = struct.pack("<iiii", 16 + len(body), request_id, 0, 2013) + body
    with socket.create_connection(_split(addr), timeout=TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(message)
        length, _rid, response_to, opcode = struct.unpack("<iiii", _recv_exact(sock, 16))
        data = _recv_exact(sock, length - 16)
    if opcode != 2013 or response_to != request_id:
        raise RuntimeError(f"unexpected reply opcode={opcode} responseTo={response_to}")
    if data[4] != 0:
        raise RuntimeError("unexpected OP_MSG section kind")
    doc = _bson_top_level(data[5:])
    if doc.get("ok") not in (1, 1.0, True):
        raise RuntimeError(f"ping failed: {doc}")
    return "ping ok"


# --------------------------------------------------------------------------- OpenID Connect
def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - a local http(s) URL
        data = json.load(response)
    if not isinstance(data, dict):
        raise RuntimeError(f"{url} did not answer a JSON object")
    return data


def probe_oidc(issuer: str) -> str:
    """GET the discovery document, check its issuer, then GET its JWKS."""
    issuer = issuer.rstrip("/")
    meta = _get_json(issuer + "/.well-known/openid-configuration")
    if meta.get("issuer") != issuer:
        raise RuntimeError(f"discovery names issuer {meta.get('issuer')!r}, not {issuer!r}")
    keys = _get_json(str(meta["jwks_uri"])).get("keys")
    if not isinstance(keys, list) or not keys:
        raise RuntimeError("the JWKS holds no key yet")
    return f"issuer ok, {len(keys)} key(s) in its JWKS"


PROBES = {"kafka": probe_kafka, "mongo": probe_mongo, "oidc": probe_oidc}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="readiness probe (standard library only)")
    parser.add_argument("kind", choices=tuple(PROBES))
    parser.add_argument("addr", help="HOST:PORT (kafka, mongo) or the issuer URL (oidc)")
    parser.add_argument("--wait", type=float, default=0.0, help="retry for up to this many seconds")
    parser.add_argument("--pid", type=int, default=0, help="give up (exit 3) when this process is gone")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv[1:])
    probe = PROBES[args.kind]
    deadline = time.monotonic() + args.wait
    while True:
        try:
            what = probe(args.addr)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            last = f"{type(exc).__name__}: {exc}"
        else:
            if not args.quiet:
                print(f"{args.kind} {args.addr}: {what}")
            return 0
        if args.pid and not _alive(args.pid):
            if not args.quiet:
                print(f"{args.kind} {args.addr}: process {args.pid} exited ({last})", file=sys.stderr)
            return 3
        if time.monotonic() >= deadline:
            if not args.quiet:
                print(f"{args.kind} {args.addr}: not ready: {last}", file=sys.stderr)
            return 1
        time.sleep(0.25)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
