"""Sealing personal data: AES-256-GCM with a key id, so keys can rotate.

A sealed value is ``<key id>:<base64(nonce | ciphertext+tag)>``. New values are
sealed with the current key; values under an old key still open while that
key is listed in the old keys (docs/privacy.md describes the rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class SealError(ValueError):
    pass


class Sealer:
    def __init__(self, key_id: str, key_b64: str, old_keys: dict[str, str] | None = None) -> None:
        self.key_id = key_id
        self._keys = {kid: _key(k) for kid, k in (old_keys or {}).items()}
        self._keys[key_id] = _key(key_b64)

    @classmethod
    def from_settings(cls, key_id: str, key_b64: str, old: str = "") -> Sealer:
        """``old`` is ``id=base64key,id=base64key``."""
        pairs = dict(item.split("=", 1) for item in old.split(",") if "=" in item)
        return cls(key_id, key_b64, pairs)

    def seal(self, value: str, *, context: str = "") -> str:
        nonce = os.urandom(12)
        ct = AESGCM(self._keys[self.key_id]).encrypt(nonce, value.encode(), context.encode() or None)
        return f"{self.key_id}:{base64.b64encode(nonce + ct).decode()}"

    def open(self, sealed: str, *, context: str = "") -> str:
        try:
            kid, payload = sealed.split(":", 1)
            raw = base64.b64decode(payload)
            return AESGCM(self._keys[kid]).decrypt(raw[:12], raw[12:], context.encode() or None).decode()
        except Exception as exc:  # noqa: BLE001 - any failure is the same answer to the caller
            raise SealError("cannot open sealed value") from exc

    def seal_json(self, value: dict[str, Any], *, context: str = "") -> str:
        return self.seal(json.dumps(value, ensure_ascii=False), context=context)

    def open_json(self, sealed: str, *, context: str = "") -> dict[str, Any]:
        return json.loads(self.open(sealed, context=context))

    def needs_rotation(self, sealed: str) -> bool:
        return not sealed.startswith(f"{self.key_id}:")

    def pseudonym(self, value: str) -> str:
        """A stable, keyed pseudonym (HMAC-SHA256), for linking without revealing."""
        digest = hmac.new(self._keys[self.key_id], value.encode(), hashlib.sha256).hexdigest()
        return f"p-{digest[:24]}"

    @property
    def key_ids(self) -> list[str]:
        """The current key id first, then the old ones."""
        return [self.key_id, *sorted(k for k in self._keys if k != self.key_id)]

    def derived(self, purpose: str, key_id: str | None = None) -> bytes:
        """A key for ``purpose`` (e.g. the search index), derived from the key ``key_id`` (default:
        the current one) by HMAC-SHA256; it changes when that key rotates."""
        return hmac.new(self._keys[key_id or self.key_id], f"minwon/{purpose}".encode(), hashlib.sha256).digest()


def _key(b64: str) -> bytes:
    key = base64.b64decode(b64)
    if len(key) != 32:
        raise SealError("keys are 32 bytes (AES-256), base64-encoded")
    return key
