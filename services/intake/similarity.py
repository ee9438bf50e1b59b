"""Blind indexes for staff search, and the rules for repeated (반복민원) and duplicate (중복민원)
complaints (민원처리법 제23조).

Pure: no I/O, no clock reads. Personal data and text never enter an index in clear: each term is a
keyed HMAC-SHA256 of a normalised value, under a key the handler derives from the personal-data key
(:meth:`minwon.crypto.Sealer.derived`). The same value under the same key always gives the same term,
so equal values are found by equality on the stored terms, and two titles are compared by the overlap
of their keyed bigram sets (equal to the overlap of the bigrams themselves).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

REPEAT_SIMILARITY = 0.6
"""Titles at least this similar (Dice coefficient of their bigrams) are "the same subject" for a repeat."""
REPEAT_ANSWERED = 2
"""A complaint is a repeat when the same citizen's same subject was already answered this many times."""
LINK_SIMILARITY = 0.5
"""Titles at least this similar, from different citizens, are suggested for linking (중복민원)."""
LINK_WINDOW = timedelta(days=7)
"""Duplicate complaints about the same thing arrive within this time of each other."""
MAX_WORDS = 8
"""Words one search may name."""
BODY_INDEXED = 3000
"""Characters of the normalised body whose bigrams are indexed (a long body's tail is not searched)."""


# ------------------------------------------------------------ normalisation


def normal_name(value: str) -> str:
    """A name without any whitespace (``홍 길동`` = ``홍길동``)."""
    return "".join(value.split())


def normal_phone(value: str) -> str:
    """Digits only (``010-1234-5678`` = ``01012345678``)."""
    return "".join(ch for ch in value if ch.isdigit())


def normal_email(value: str) -> str:
    return value.strip().lower()


def normal_text(value: str) -> str:
    """Letters and digits only, lower-cased: spaces and punctuation removed."""
    return "".join(ch for ch in value.lower() if ch.isalnum())


def bigrams(value: str) -> set[str]:
    """The two-character pieces of the normalised text (a single character: itself)."""
    text = normal_text(value)
    if len(text) < 2:
        return {text} if text else set()
    return {text[i : i + 2] for i in range(len(text) - 1)}


def identity_value(name: str, phone: str | None, email: str | None, address: str | None) -> str | None:
    """Who the citizen is, for finding their earlier complaints: the name and the first contact given
    (phone, else e-mail, else address), normalised. None without a name or a contact."""
    contact = normal_phone(phone or "") or normal_email(email or "") or normal_text(address or "")
    named = normal_name(name)
    return f"{named}|{contact}" if named and contact else None


# ------------------------------------------------------------------- terms


def term(key: bytes, kind: str, value: str) -> str:
    """The keyed term of a normalised ``value`` of ``kind`` (name, phone, email, gram, who, title)."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:24]


@dataclass(frozen=True)
class IndexTerms:
    """What a complaint stores: ``terms`` (searched by equality on elements), ``title`` (the title's
    keyed bigrams, compared for similarity) and ``identity`` (the citizen, looked up by equality)."""

    terms: list[str]
    title: list[str]
    identity: str | None


def index_terms(
    key: bytes, *, name: str, phone: str | None, email: str | None, address: str | None, title: str, body: str
) -> IndexTerms:
    terms: set[str] = set()
    if normal_name(name):
        terms.add(term(key, "name", normal_name(name)))
    if phone and normal_phone(phone):
        terms.add(term(key, "phone", normal_phone(phone)))
    if email and normal_email(email):
        terms.add(term(key, "email", normal_email(email)))
    for gram in bigrams(title) | bigrams(normal_text(body)[:BODY_INDEXED]):
        terms.add(term(key, "gram", gram))
    who = identity_value(name, phone, email, address)
    return IndexTerms(
        terms=sorted(terms),
        title=sorted(term(key, "title", g) for g in bigrams(title)),
        identity=term(key, "who", who) if who else None,
    )


def words_of(text: str) -> list[str]:
    """The words of a search box, normalised; at most :data:`MAX_WORDS`, each at least two characters
    (a shorter one has no bigram to look up)."""
    return [w for w in (normal_text(x) for x in text.split()) if w][:MAX_WORDS]


def query_terms(
    key: bytes,
    *,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    words: Sequence[str] = (),
) -> list[str]:
    """The terms a complaint must all hold to match: every given value and every bigram of each word."""
    terms: set[str] = set()
    if name:
        terms.add(term(key, "name", normal_name(name)))
    if phone:
        terms.add(term(key, "phone", normal_phone(phone)))
    if email:
        terms.add(term(key, "email", normal_email(email)))
    for word in words:
        terms.update(term(key, "gram", g) for g in bigrams(word))
    return sorted(terms)


def text_matches(words: Sequence[str], title: str, body: str) -> bool:
    """Every word, normalised, is in the normalised title or body (bigrams alone may match pieces
    that are apart; this confirms a hit on the opened text)."""
    haystack = (normal_text(title), normal_text(body))
    return all(any(normal_text(w) in h for h in haystack) for w in words)


# -------------------------------------------------------------- similarity


def similarity(a: Iterable[str], b: Iterable[str]) -> float:
    """Dice coefficient of two sets of (keyed) bigrams: 1.0 identical, 0.0 nothing shared."""
    left, right = set(a), set(b)
    if not left or not right:
        return 0.0
    return 2 * len(left & right) / (len(left) + len(right))


@dataclass(frozen=True)
class Earlier:
    """Another complaint, as the rules see it (from its stored index, nothing opened)."""

    receipt_no: str
    category: str
    district: str
    title: Sequence[str]
    identity: str | None
    received_at: datetime
    answered: bool
    """Closed with an answer (처리완료)."""


def repeat_of(*, category: str, title: Sequence[str], earlier: Iterable[Earlier]) -> list[str]:
    """The earlier answered complaints of the same citizen on the same subject (same category, titles
    at least :data:`REPEAT_SIMILARITY` alike), when there are at least :data:`REPEAT_ANSWERED` of them;
    otherwise none (it is not a repeat). ``earlier``: the same citizen's complaints."""
    same = sorted(
        e.receipt_no
        for e in earlier
        if e.answered and e.category == category and similarity(title, e.title) >= REPEAT_SIMILARITY
    )
    return same if len(same) >= REPEAT_ANSWERED else []


def link_suggestions(
    this: Earlier, others: Iterable[Earlier], *, linked: Iterable[str] = ()
) -> list[dict[str, object]]:
    """Other citizens' complaints about the same thing: same category and district, received within
    :data:`LINK_WINDOW` of this one, titles at least :data:`LINK_SIMILARITY` alike; most alike first.
    Complaints already ``linked`` and the same citizen's own are left out."""
    skip = set(linked) | {this.receipt_no}
    found = []
    for other in others:
        if other.receipt_no in skip or other.category != this.category or other.district != this.district:
            continue
        if this.identity is not None and other.identity == this.identity:
            continue
        if abs(other.received_at - this.received_at) > LINK_WINDOW:
            continue
        score = similarity(this.title, other.title)
        if score >= LINK_SIMILARITY:
            found.append({"receipt_no": other.receipt_no, "similarity": round(score, 2)})
    return sorted(found, key=lambda x: (-float(x["similarity"]), str(x["receipt_no"])))  # type: ignore[arg-type]
