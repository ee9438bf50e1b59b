"""Open311 GeoReport v2 (JSON) under ``/open311/v2``: apps built for 311 services file and follow complaints.

- ``GET /services.json``: the service list, from the catalogue below (each service is a complaint kind
  and category); ``metadata`` is false and ``type`` realtime for all.
- ``GET /services/{code}.json``: the definition of a service (no attributes).
- ``POST /requests.json`` (form-encoded, as the specification says, or JSON): files a complaint through
  :meth:`Intake.file_complaint`, channel ``online``, and answers
  ``[{"service_request_id", "service_notice", "account_id": null}]``.
- ``GET /requests.json`` and ``GET /requests/{id}.json``: status, service, department, times — and
  nothing a person wrote or is: ``description``, ``address``, ``lat``/``long``, ``media_url`` are
  always null, confidential (whistleblower) complaints and unconfirmed drafts are not listed.

Choices where this system and the specification meet:

- ``service_request_id`` is the receipt number (``2026-BUSAN-0000001``); the notice carries the
  citizen's check code, which opens the detailed view (``/api/v1/complaints/{no}?code=...``).
- ``address_string``/``lat``/``long`` are where the problem is, not where the citizen lives: they go
  into the complaint's (sealed) text, and only the district (구·군) read from the address — or, with
  coordinates only, the one they fall in (:mod:`services.intake.geo`, approximate boundaries) — is
  kept as a fact. So the identity rule (no anonymous complaints) needs ``first_name``/``last_name`` **and**
  ``phone`` or ``email`` here; a request without them is refused with 400.
- ``api_key`` is accepted and not required (a citizen's app files for the citizen).
- E-mail notices are consented to by giving an e-mail address; SMS only with ``attribute[sms]=true``.
- Status: ``received``, ``in_progress``, ``awaiting_supplement`` → open; ``closed``, ``withdrawn``,
  ``transferred`` → closed (``status_notes`` says which, as a code).
- ``media_url`` stays a link in the complaint's sealed text; it is fetched and attached only when its host
  is listed in ``MINWON_ATTACHMENT_FETCH_HOSTS`` (empty by default), bounded in size and time (docs/attachments.md).
- Errors are the specification's array, ``[{"code": 400, "description": "..."}]``. XML is not offered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import MediaType, Request, Response, Router, get, post
from litestar.di import Provide
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from minwon.errors import DomainError
from services.intake import domain, geo
from services.intake.attachments_handlers import Attachments
from services.intake.domain import Complaint, Consent, Filing, Identity
from services.intake.geo import district_of
from services.intake.handlers import Intake

MAX_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
MAX_IDS = 100
DESCRIPTION_MAX = 4000
#: Query dates lie from intake's earliest receipt up to (not including) this instant.
END_DATE = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str
    group: str
    keywords: tuple[str, ...]
    kind: str
    category: str

    def to_json(self) -> dict[str, Any]:
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": self.description,
            "metadata": False,
            "type": "realtime",
            "keywords": ", ".join(self.keywords),
            "group": self.group,
        }


#: The services offered through Open311: daily-life complaints (기타민원, 즉시) by category, and the
#: kinds a citizen can file without a statutory form. Categories are the routing rules' categories.
CATALOG: tuple[Service, ...] = (
    Service(
        "road",
        "도로·보도 파손",
        "포트홀, 보도블록, 맨홀, 가로등, 과속방지턱",
        "생활불편",
        ("포트홀", "보도블록", "맨홀", "가로등"),
        "other",
        "도로",
    ),
    Service(
        "traffic",
        "교통·주정차",
        "불법 주정차, 신호등, 버스 정류장",
        "생활불편",
        ("불법주차", "주정차", "신호등", "정류장"),
        "other",
        "교통",
    ),
    Service(
        "environment",
        "소음·악취·대기",
        "공사장 소음, 악취, 비산먼지",
        "생활불편",
        ("소음", "악취", "먼지"),
        "other",
        "환경",
    ),
    Service(
        "waste",
        "쓰레기·무단투기",
        "무단투기, 수거 누락, 대형폐기물",
        "생활불편",
        ("쓰레기", "무단투기", "재활용"),
        "other",
        "쓰레기",
    ),
    Service("water", "상수도", "누수, 단수, 수질", "생활불편", ("누수", "단수", "수질"), "other", "상수도"),
    Service(
        "parks",
        "공원·녹지·가로수",
        "공원 시설 파손, 가로수 정비",
        "생활불편",
        ("공원", "가로수", "녹지"),
        "other",
        "공원",
    ),
    Service("housing", "주택", "공동주택, 빈집, 주거환경", "생활불편", ("주택", "빈집"), "other", "주택"),
    Service("welfare", "복지", "복지 서비스 신청·문의", "복지", ("복지", "돌봄"), "other", "복지"),
    Service("misc", "기타 생활불편", "그 밖의 생활 불편 사항", "생활불편", ("기타",), "other", "기타"),
    Service(
        "suggestion",
        "시민 건의",
        "시정에 대한 건의 (건의민원, 14일)",
        "건의·질의",
        ("건의", "제안"),
        "suggestion",
        "건의",
    ),
    Service(
        "inquiry",
        "제도·절차 질의",
        "제도와 절차에 관한 질의 (질의민원, 7일)",
        "건의·질의",
        ("질의", "문의", "절차"),
        "inquiry_system",
        "질의",
    ),
    Service(
        "grievance",
        "고충 민원",
        "행정기관의 처분·부작위로 인한 고충 (고충민원, 7일)",
        "건의·질의",
        ("고충",),
        "grievance",
        "고충",
    ),
    Service(
        "service-complaint",
        "민원서비스 불만",
        "민원 처리 과정의 불친절·지연 (서비스헌장)",
        "민원서비스",
        ("불친절", "지연"),
        "service_complaint",
        "서비스",
    ),
)
BY_CODE = {s.code: s for s in CATALOG}
BY_FACTS = {(s.kind, s.category): s for s in CATALOG}

#: How a complaint filed elsewhere (no catalogue match) is named: by its kind.
KIND_NAMES = {
    "statutory": "법정민원",
    "inquiry_law": "법령 질의",
    "inquiry_system": "제도·절차 질의",
    "suggestion": "건의",
    "other": "기타 민원",
    "grievance": "고충 민원",
    "petition": "진정",
    "service_complaint": "민원서비스 불만",
}

_LAT = (-90.0, 90.0)
_LONG = (-180.0, 180.0)


class Open311Error(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


# ------------------------------------------------------------------ mapping (pure)


def service_of(complaint: Complaint) -> tuple[str, str]:
    """The (service_code, service_name) a complaint is listed under."""
    found = BY_FACTS.get((complaint.kind, complaint.category))
    if found:
        return found.code, found.name
    return complaint.kind, KIND_NAMES.get(complaint.kind, complaint.kind)


def status_of(complaint: Complaint) -> str:
    return "closed" if complaint.status in domain.FINAL else "open"


def visible(complaint: Complaint) -> bool:
    """Listed publicly: not a whistleblower's complaint, not an unconfirmed draft."""
    return not complaint.confidential and complaint.status != domain.DRAFT


def request_json(complaint: Complaint) -> dict[str, Any]:
    """A service request as GET answers it: status, service, department, times; no personal data, no text."""
    code, name = service_of(complaint)
    updated = complaint.timeline[-1].at if complaint.timeline else complaint.registered_at
    return {
        "service_request_id": complaint.receipt_no,
        "status": status_of(complaint),
        "status_notes": complaint.status if complaint.status in domain.FINAL else None,
        "service_name": name,
        "service_code": code,
        "description": None,
        "agency_responsible": complaint.department,
        "service_notice": None,
        "requested_datetime": complaint.received_at,
        "updated_datetime": updated,
        "expected_datetime": complaint.due_at,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _text(fields: Mapping[str, Any], name: str, limit: int = 200) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise Open311Error(400, f"{name} is longer than {limit} characters")
    return text or None


def _coordinate(fields: Mapping[str, Any], name: str, bounds: tuple[float, float]) -> float | None:
    raw = _text(fields, name, 40)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} is a decimal number (WGS84)") from None
    if not bounds[0] <= value <= bounds[1]:
        raise Open311Error(400, f"{name} is out of range")
    return value


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "y", "on")


def full_name(first: str | None, last: str | None) -> str:
    """Korean names are family name first, unspaced (홍 + 길동 → 홍길동); others "first last"."""
    parts = [p for p in (last, first) if p]
    if any("\uac00" <= ch <= "\ud7a3" for ch in "".join(parts)):
        return "".join(parts)
    return " ".join(p for p in (first, last) if p)


def filing_of(fields: Mapping[str, Any]) -> Filing:
    """A POST request's fields (form or JSON) as a filing; 400 for what GeoReport v2 itself requires."""
    code = _text(fields, "service_code", 100)
    if not code:
        raise Open311Error(400, "service_code is required")
    service = BY_CODE.get(code)
    if service is None:
        raise Open311Error(404, f"service_code {code} not found (GET services.json lists them)")
    lat, long = _coordinate(fields, "lat", _LAT), _coordinate(fields, "long", _LONG)
    address, address_id = _text(fields, "address_string", 300), _text(fields, "address_id", 100)
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat and long are given together")
    if lat is None and not address and not address_id:
        raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
    description = _text(fields, "description", DESCRIPTION_MAX)
    media = _text(fields, "media_url", 1000)
    name = full_name(_text(fields, "first_name", 50), _text(fields, "last_name", 50))
    phone, email = _text(fields, "phone", 40), _text(fields, "email", 200)

    lines = [description or service.name, ""]
    if address:
        lines.append(f"[위치] {address}")
    if lat is not None:
        lines.append(f"[좌표] {lat}, {long}")
    if address_id:
        lines.append(f"[주소 ID] {address_id}")
    if media:
        lines.append(f"[사진] {media}")
    first_line = (description or "").strip().splitlines()[0][:80] if description else ""
    title = f"{service.name}: {first_line}" if first_line else service.name
    located = geo.district_at(geo.busan(), lat, long) if lat is not None and long is not None else None
    district = _text(fields, "attribute[district]", 50) or district_of(address) or located or "미상"
    return Filing(
        identity=Identity(name=name, phone=phone, email=email, address=None),
        title=title[:200],
        body="\n".join(lines).strip(),
        kind=service.kind,
        category=service.category,
        district=district,
        channel="online",
        consent=Consent(email=bool(email), sms=bool(phone) and _truthy(fields.get("attribute[sms]", ""))),
    )


def parse_instant(value: str | None, name: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        instant = datetime.fromisoformat(value.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} is an ISO 8601 date-time with a time zone") from None
    if instant.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone (Z or an offset such as +09:00)")
    if not domain.EARLIEST_RECEIPT <= instant < END_DATE:
        raise Open311Error(400, f"{name} lies in the years {domain.EARLIEST_RECEIPT.year}–{END_DATE.year - 1}")
    return instant


# ------------------------------------------------------------------ queries


async def find_requests(intake: Intake, query: Mapping[str, str]) -> list[Complaint]:
    ids = [i.strip() for i in (query.get("service_request_id") or "").split(",") if i.strip()]
    if ids:  # the specification: ids override every other parameter
        if len(ids) > MAX_IDS:
            raise Open311Error(400, f"at most {MAX_IDS} service_request_id values at once")
        found = [await intake.store.complaints.get(i) for i in dict.fromkeys(ids)]
        return [c for c in (Complaint.from_doc(d) for d in found if d) if visible(c)]

    end = parse_instant(query.get("end_date"), "end_date") or intake.clock()
    start = parse_instant(query.get("start_date"), "start_date") or end - MAX_WINDOW
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    if end - start > MAX_WINDOW:
        raise Open311Error(400, "the date range may not span more than 90 days")
    where: dict[str, Any] = {"confidential": {"$ne": True}}
    statuses = {s.strip() for s in (query.get("status") or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status is open or closed (comma-separated)")
    wanted: set[str] = set()
    if not statuses or "open" in statuses:
        wanted |= domain.OPEN
    if not statuses or "closed" in statuses:
        wanted |= domain.FINAL
    where["status"] = {"$in": sorted(wanted)}
    codes = [c.strip() for c in (query.get("service_code") or "").split(",") if c.strip()]
    if len(codes) > 1:
        raise Open311Error(400, "one service_code at a time")
    if codes:
        code = codes[0]
        if code in BY_CODE:
            where.update(kind=BY_CODE[code].kind, category=BY_CODE[code].category)
        elif code in KIND_NAMES:
            where["kind"] = code
        else:
            raise Open311Error(404, f"service_code {code} not found")
    # stored instants carry different offsets: a day's margin in the query, the exact range below
    margin = timedelta(days=1)
    where["received_at"] = {
        "$gte": (start - margin).strftime("%Y-%m-%dT%H:%M:%S"),
        "$lte": (end + margin).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    docs = await intake.store.db.collection("complaints").find(where, sort=[("_id", -1)], limit=MAX_RESULTS * 2)
    out = [Complaint.from_doc(d) for d in docs]
    out = [c for c in out if start <= datetime.fromisoformat(c.received_at) <= end and visible(c)]
    if codes and codes[0] in KIND_NAMES and codes[0] not in BY_CODE:
        out = [c for c in out if service_of(c)[0] == codes[0]]
    out.sort(key=lambda c: datetime.fromisoformat(c.received_at), reverse=True)
    return out[:MAX_RESULTS]


# ------------------------------------------------------------------ HTTP


def _errors(code: int, description: str) -> Response[list[dict[str, Any]]]:
    return Response([{"code": code, "description": description}], status_code=code, media_type=MediaType.JSON)


def _open311_error(_: Request[Any, Any, Any], exc: Open311Error) -> Response[list[dict[str, Any]]]:
    return _errors(exc.code, exc.description)


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[list[dict[str, Any]]]:
    code = exc.status if exc.status in (404, 503) else 403 if exc.status in (401, 403) else 400
    return _errors(code, exc.message)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[list[dict[str, Any]]]:
    return _errors(exc.status_code if exc.status_code < 500 else 400, str(exc.detail))


def _malformed_body(_: Request[Any, Any, Any], exc: SerializationException) -> Response[list[dict[str, Any]]]:
    return _errors(400, f"the body is not valid JSON ({exc.detail})")


def _json_suffix(name: str) -> str:
    if not name.endswith(".json"):
        raise Open311Error(404, "only the JSON format is offered: use the .json suffix")
    return name[: -len(".json")]


@get("/services.json")
async def list_services() -> list[dict[str, Any]]:
    """The services a request can be filed under (GeoReport v2 ``GET services``)."""
    return [s.to_json() for s in CATALOG]


@get("/services/{name:str}")
async def service_definition(name: str) -> dict[str, Any]:
    """A service's definition: no extra attributes (``metadata`` is false for every service)."""
    code = _json_suffix(name)
    if code not in BY_CODE:
        raise Open311Error(404, f"service_code {code} not found")
    return {"service_code": code, "attributes": []}


@get("/requests.json")
async def list_requests(request: Request[Any, Any, Any], intake: Intake) -> list[dict[str, Any]]:
    """Service requests (GeoReport v2 ``GET requests``), most recent first, without personal data."""
    return [request_json(c) for c in await find_requests(intake, dict(request.query_params))]


@get("/requests/{name:str}")
async def show_request(name: str, intake: Intake) -> list[dict[str, Any]]:
    """One service request, as a one-element array (GeoReport v2 ``GET request``)."""
    receipt_no = _json_suffix(name)
    found = await find_requests(intake, {"service_request_id": receipt_no})
    if not found:
        raise Open311Error(404, f"service_request_id {receipt_no} not found")
    return [request_json(found[0])]


@post("/requests.json", status_code=201)
async def create_request(
    request: Request[Any, Any, Any], intake: Intake, attachments: Attachments | None
) -> list[dict[str, Any]]:
    """File a complaint (GeoReport v2 ``POST request``; form-encoded or JSON). ``Idempotency-Key`` is honoured."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields: Mapping[str, Any] = dict((await request.form()).items())
    elif content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise Open311Error(400, "a JSON request is an object of GeoReport v2 fields")
        fields = body
    else:
        raise Open311Error(400, "send application/x-www-form-urlencoded (or application/json)")
    key = request.headers.get("idempotency-key")
    complaint, created = await intake.file_complaint(filing_of(fields), idempotency_key=key[:200] if key else None)
    media = _text(fields, "media_url", 1000)
    if media and created and attachments is not None:  # fetched only from the allow-listed hosts
        await attachments.fetch_media(complaint, media)
    notice = (
        f"접수되었습니다. 접수번호 {complaint.receipt_no}, 확인코드 {complaint.check_code}. "
        f"Received as {complaint.receipt_no}; check code {complaint.check_code} opens its details."
    )
    return [{"service_request_id": complaint.receipt_no, "service_notice": notice, "account_id": None}]


def routes(intake: Intake, attachments: Attachments | None = None) -> list[Any]:
    return [
        Router(
            path="/open311/v2",
            route_handlers=[list_services, service_definition, list_requests, show_request, create_request],
            dependencies={
                "intake": Provide(lambda: intake, sync_to_thread=False, use_cache=True),
                "attachments": Provide(lambda: attachments, sync_to_thread=False, use_cache=True),
            },
            exception_handlers={
                Open311Error: _open311_error,
                DomainError: _domain_error,
                ValidationException: _http_error,
                HTTPException: _http_error,
                SerializationException: _malformed_body,
            },
            tags=["open311"],
        )
    ]
