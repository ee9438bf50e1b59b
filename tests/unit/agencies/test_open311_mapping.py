"""Open311 GeoReport v2: the shapes of services and requests, and how a POST becomes a filing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from minwon.errors import DomainError
from services.intake import domain
from services.intake.domain import Complaint, Step
from services.intake.open311 import (
    BY_CODE,
    CATALOG,
    Open311Error,
    district_of,
    filing_of,
    full_name,
    request_json,
    service_of,
    status_of,
    visible,
)

# the field names of the specification's sample answers
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
# the specification's sample POST, with a service code of this catalogue
SAMPLE_POST = (
    "api_key=xyz&jurisdiction_id=city.gov&service_code=road&lat=35.1631&long=129.1636"
    "&address_string=%EB%B6%80%EC%82%B0%EA%B4%91%EC%97%AD%EC%8B%9C+%ED%95%B4%EC%9A%B4%EB%8C%80%EA%B5%AC"
    "+%EC%9A%B0%EB%8F%99+1234&email=smit333%40sfgov.edu&device_id=tt222111&account_id=123456"
    "&first_name=john&last_name=smith&phone=111111111"
    "&description=A+large+sinkhole+is+forming+in+the+middle+of+the+road+in+front+of+my+house."
    "&media_url=http%3A%2F%2Fcity.example%2Fa.jpg"
)
NOW = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)


def complaint(**changes) -> Complaint:
    base = Complaint(
        receipt_no="2026-BUSAN-0000042",
        check_code="ABC123",
        complainant_ref="p-x",
        sealed="k1:x",
        kind="other",
        category="도로",
        district="해운대구",
        channel="online",
        status=domain.RECEIVED,
        received_at=NOW.isoformat(),
        registered_at=NOW.isoformat(),
        timeline=(Step(NOW.isoformat(), "received", {}),),
    )
    return Complaint(**{**base.__dict__, **changes})


def test_every_service_has_the_specifications_fields() -> None:
    for service in CATALOG:
        doc = service.to_json()
        assert set(doc) == SERVICE_FIELDS
        assert doc["metadata"] is False and doc["type"] == "realtime" and isinstance(doc["keywords"], str)
        assert service.kind in domain.KINDS and service.kind != "statutory"
    assert len(BY_CODE) == len(CATALOG)


def test_the_sample_post_becomes_a_filing_with_the_location_in_the_sealed_text() -> None:
    filing = filing_of(dict(parse_qsl(SAMPLE_POST)))
    assert filing.identity.name == "john smith" and filing.identity.phone == "111111111"
    assert filing.identity.email == "smit333@sfgov.edu" and filing.identity.address is None
    assert (filing.kind, filing.category, filing.channel) == ("other", "도로", "online")
    assert filing.district == "해운대구"
    assert filing.body.startswith("A large sinkhole") and "우동 1234" in filing.body and "35.1631" in filing.body
    assert "city.example/a.jpg" in filing.body and filing.title.startswith("도로·보도 파손: A large sinkhole")
    assert filing.consent.email is True and filing.consent.sms is False
    domain.check_filing(filing, NOW, max_age=timedelta(days=30))  # a valid complaint for intake


def test_without_a_phone_or_email_the_identity_rule_refuses_it() -> None:
    fields = dict(parse_qsl(SAMPLE_POST))
    del fields["phone"], fields["email"]
    filing = filing_of(fields)  # the address is the problem's location, not a contact
    with pytest.raises(DomainError) as error:
        domain.check_filing(filing, NOW, max_age=timedelta(days=30))
    assert error.value.code == "identity_required"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"service_code": None}, 400),
        ({"service_code": "001"}, 404),
        ({"lat": None}, 400),
        ({"lat": None, "long": None, "address_string": None}, 400),
        ({"lat": "north"}, 400),
        ({"lat": "91"}, 400),
        ({"description": "x" * 4001}, 400),
    ],
)
def test_what_georeport_itself_requires_is_checked(change: dict, code: int) -> None:
    fields = {**dict(parse_qsl(SAMPLE_POST)), **change}
    fields = {k: v for k, v in fields.items() if v is not None}
    with pytest.raises(Open311Error) as error:
        filing_of(fields)
    assert error.value.code == code


def test_an_address_id_alone_is_a_location_and_json_numbers_are_accepted() -> None:
    fields = {
        "service_code": "water",
        "address_id": "A-77",
        "first_name": "길동",
        "last_name": "홍",
        "phone": "010-1111-2222",
        "attribute[district]": "기장군",
        "attribute[sms]": "true",
    }
    filing = filing_of(fields)
    assert filing.identity.name == "홍길동" and filing.district == "기장군" and filing.consent.sms is True
    assert filing_of({**fields, "address_id": None, "lat": 35.1, "long": 129.0}).body.count("35.1") == 1


@pytest.mark.parametrize(
    "address, district",
    [
        ("부산광역시 해운대구 우동 1234", "해운대구"),
        ("경기도 포천시 소흘읍 1", "포천시"),
        ("전라남도 구례군 구례읍", "구례군"),
        ("부산광역시", None),
        ("", None),
        (None, None),
    ],
)
def test_the_district_is_read_from_the_address(address: str | None, district: str | None) -> None:
    assert district_of(address) == district


def test_names_compose_in_each_languages_order() -> None:
    assert full_name("길동", "홍") == "홍길동" and full_name("john", "smith") == "john smith"
    assert full_name(None, "smith") == "smith" and full_name(None, None) == ""


def test_a_request_has_the_specifications_fields_and_nothing_personal() -> None:
    c = complaint(
        department="road",
        due_at=(NOW + timedelta(hours=3)).isoformat(),
        timeline=(
            Step(NOW.isoformat(), "received", {}),
            Step((NOW + timedelta(minutes=5)).isoformat(), "routed", {"department": "road"}),
        ),
    )
    doc = request_json(c)
    assert set(doc) == REQUEST_FIELDS
    assert doc["service_request_id"] == c.receipt_no and doc["status"] == "open" and doc["status_notes"] is None
    assert (doc["service_code"], doc["service_name"]) == ("road", "도로·보도 파손")
    assert doc["agency_responsible"] == "road" and doc["expected_datetime"] == c.due_at
    assert doc["requested_datetime"] == c.received_at and doc["updated_datetime"] == c.timeline[-1].at
    for key in ("description", "address", "address_id", "zipcode", "lat", "long", "media_url", "service_notice"):
        assert doc[key] is None
    assert "ABC123" not in str(doc) and "p-x" not in str(doc) and "k1:x" not in str(doc)


@pytest.mark.parametrize(
    "status, expected",
    [
        (domain.RECEIVED, "open"),
        (domain.IN_PROGRESS, "open"),
        (domain.SUPPLEMENTING, "open"),
        (domain.CLOSED, "closed"),
        (domain.WITHDRAWN, "closed"),
        (domain.TRANSFERRED, "closed"),
    ],
)
def test_intake_status_maps_to_open_or_closed(status: str, expected: str) -> None:
    assert status_of(complaint(status=status)) == expected
    assert request_json(complaint(status=status))["status_notes"] == (status if expected == "closed" else None)


def test_complaints_filed_elsewhere_are_listed_under_their_kind_and_some_not_at_all() -> None:
    assert service_of(complaint(kind="statutory", category="여권")) == ("statutory", "법정민원")
    assert service_of(complaint(category="road")) == ("other", "기타 민원")
    assert not visible(complaint(confidential=True)) and not visible(complaint(status=domain.DRAFT))
    assert visible(complaint())
