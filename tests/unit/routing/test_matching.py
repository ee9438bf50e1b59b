"""Which rule, which department, and why: the shipped rule table against sample complaints,
and the matching rules one by one."""

from __future__ import annotations

import unicodedata

import pytest

from minwon.errors import Conflict, Invalid
from services.routing import domain
from services.routing.domain import DEFAULT_RULE_ID, Conditions, Rule
from tests.unit.routing.factories import NOW, facts, rule, sample_departments, sample_rules

OFFICE = "complaint-office"

# (complaint facts, expected rule, expected department, matched conditions)
TABLE = [
    (dict(title="아파트 앞 불법 주차 신고", district="해운대구 우1동"), "illegal-parking", "traffic", ["keywords"]),
    (dict(title="도로에 구멍", body="큰 포트홀이 생겼습니다"), "road-damage", "road", ["keywords"]),
    (dict(category="교통 > 버스노선", title="배차 간격 문의"), "traffic-category", "traffic", ["categories"]),
    (
        dict(category="공원", district="부산광역시 강서구 대저1동", title="벤치 파손"),
        "nakdong-parks",
        "nakdong-office",
        ["categories", "districts"],
    ),
    (dict(category="공원", district="수영구 광안동", title="벤치 파손"), "parks", "parks", ["categories"]),
    (
        dict(title="해수욕장 파라솔 요금이 비쌉니다", district="해운대구중동"),
        "beach",
        "ocean",
        ["districts", "keywords"],
    ),
    (dict(title="해수욕장 파라솔 요금이 비쌉니다", district="동래구 명장동"), DEFAULT_RULE_ID, OFFICE, []),
    (dict(title="윗집 층간 소음", body="밤마다 뛰어요"), "floor-noise", "housing", ["keywords"]),
    (dict(title="공사장 소음", body="새벽 6시부터"), "noise-odour", "environment", ["keywords", "exclude_keywords"]),
    (
        dict(kind="statutory", statutory_type="여권 재발급", title="여권"),
        "passport",
        "civil-registry",
        ["kinds", "statutory_types"],
    ),
    (
        dict(kind="statutory", statutory_type="건축허가", category="건축"),
        "building-permit",
        "building",
        ["kinds", "statutory_types"],
    ),
    (
        dict(kind="statutory", statutory_type="주민등록표 등본"),
        "certificates",
        "civil-registry",
        ["kinds", "statutory_types"],
    ),
    (dict(kind="service_complaint", title="창구 직원이 불친절했습니다"), "service-failure", OFFICE, ["kinds"]),
    (dict(title="불법주차 단속 요원", body="단속 대가로 뇌물을 요구"), "audit-corruption", "audit", ["keywords"]),
    (
        dict(kind="inquiry_system", channel="phone", title="전입신고 절차"),
        "phone-procedure",
        "callcenter-120",
        ["kinds", "channels"],
    ),
    (dict(kind="inquiry_system", channel="online", title="전입신고 절차"), DEFAULT_RULE_ID, OFFICE, []),
    (dict(kind="suggestion", title="자전거 도로를 늘려 주세요"), "suggestion", "citizen-communication", ["kinds"]),
    (dict(channel="sns", title="칭찬합니다"), "sns", "citizen-communication", ["channels"]),
    (dict(title="음식점 위생 불량", body="주방이 더럽습니다"), "food-hygiene", "health", ["keywords"]),
    (dict(title="녹물", body="수돗물에서 녹물이 나와요"), "water-supply", "water", ["keywords"]),
    (dict(title="재산세 고지서 문의"), "local-tax-keywords", "tax", ["keywords"]),
    (dict(title="태풍으로 도로 침수", body="도로 파손도 있음"), "disaster", "safety", ["keywords"]),
    (dict(title="골목 쓰레기 무단투기"), "waste", "waste", ["keywords"]),
    (dict(category="복지 / 노인", title="기초연금 신청"), "welfare-category", "welfare", ["categories"]),
    (dict(title=unicodedata.normalize("NFD", "불법주차 신고")), "illegal-parking", "traffic", ["keywords"]),
]


@pytest.mark.parametrize(
    ("given", "rule_id", "department", "fields"), TABLE, ids=[f"{i:02d}-{row[1]}" for i, row in enumerate(TABLE)]
)
def test_sample_complaints_get_their_department_and_reason(given, rule_id, department, fields):
    found = domain.match(sample_rules(), facts(**given), default_department=OFFICE)
    assert (found.rule.id, found.rule.department) == (rule_id, department)
    assert [m.field for m in found.matched] == fields
    assert found.reason.startswith(f"rule {rule_id} v1 ")
    if rule_id == DEFAULT_RULE_ID:
        assert found.default and "no rule matched" in found.reason


def test_table_is_large_enough_and_covers_many_departments():
    assert len(TABLE) >= 15
    assert len({row[2] for row in TABLE}) >= 12


def test_shipped_table_is_valid_and_targets_known_departments():
    departments = sample_departments()
    assert len(departments) >= 15
    rules = sample_rules()
    for r in rules:
        domain.check_rule(r, departments=departments)
    assert sum(r.default for r in rules) == 1
    assert next(r for r in rules if r.default).department == OFFICE
    for dept in departments.values():
        domain.check_department(dept, others=departments.values())
        assert any(h.on_duty for h in dept.handlers), dept.code
        assert any(h.guardian for h in dept.handlers), dept.code


def test_keyword_reason_names_where_it_was_found():
    found = domain.match(sample_rules(), facts(title="신고", body="불법주차 차량"), default_department=OFFICE)
    assert found.matched_docs() == [{"field": "keywords", "rule_value": "불법주차", "where": "body"}]
    assert "keyword '불법주차' in the body" in found.reason


def test_confidential_complaint_keeps_the_keyword_out_of_the_reason():
    found = domain.match(sample_rules(), facts(title="뇌물 요구", confidential=True), default_department=OFFICE)
    assert found.rule.id == "audit-corruption"
    assert "뇌물" not in found.reason and "withheld" in found.reason
    assert found.matched_docs() == [{"field": "keywords", "where": "title"}]


def test_reason_never_contains_the_complaint_text():
    title, body = "우리집 앞 불법주차 김철수씨 차량", "010-1234-5678 로 연락주세요"
    found = domain.match(sample_rules(), facts(title=title, body=body), default_department=OFFICE)
    assert "김철수" not in found.reason and "010-1234" not in found.reason
    assert "김철수" not in repr(facts(title=title, body=body))


# ------------------------------------------------------------ priority order


def test_lower_priority_number_wins_when_several_rules_match():
    rules = [rule("late", 50, "b", keywords=["소음"]), rule("early", 10, "a", keywords=["소음"])]
    found = domain.match(rules, facts(title="소음"), default_department=OFFICE)
    assert found.rule.id == "early"
    assert found.skipped == ()


def test_equal_priorities_are_tried_by_id():
    rules = [rule("b-rule", 10, "b", keywords=["소음"]), rule("a-rule", 10, "a", keywords=["소음"])]
    assert domain.match(rules, facts(title="소음"), default_department=OFFICE).rule.id == "a-rule"


def test_a_disabled_rule_is_not_tried():
    rules = [rule("off", 1, "a", keywords=["소음"], enabled=False), rule("on", 9, "b", keywords=["소음"])]
    assert domain.match(rules, facts(title="소음"), default_department=OFFICE).rule.id == "on"


def test_skipped_rules_say_which_condition_failed():
    rules = [
        rule("kind-only", 1, "a", kinds=["petition"]),
        rule("district", 2, "b", districts=["강서구"]),
        rule("hit", 3, "c", keywords=["소음"]),
    ]
    found = domain.match(rules, facts(title="소음"), default_department=OFFICE)
    assert found.rule.id == "hit"
    assert found.skipped == (("kind-only", "kinds"), ("district", "districts"))


def test_all_conditions_of_a_rule_must_hold():
    r = rule("both", 1, "a", kinds=["grievance"], keywords=["소음"])
    assert domain.match([r], facts(kind="grievance", title="소음"), default_department=OFFICE).rule.id == "both"
    assert domain.match([r], facts(kind="other", title="소음"), default_department=OFFICE).default
    assert domain.match([r], facts(kind="grievance", title="악취"), default_department=OFFICE).default


def test_excluded_keyword_vetoes_a_rule():
    r = rule("noise", 1, "env", keywords=["소음"], exclude_keywords=["층간"])
    assert domain.match([r], facts(title="층간 소음"), default_department=OFFICE).default


# --------------------------------------------------------------- default rule


def test_default_rule_from_the_table_is_used_when_nothing_matches():
    table = [
        rule("x", 1, "a", keywords=["소음"]),
        Rule(DEFAULT_RULE_ID, "triage", domain.DEFAULT_PRIORITY, "triage-desk", version=4),
    ]
    found = domain.match(table, facts(title="문의"), default_department=OFFICE)
    assert (found.rule.id, found.rule.department, found.rule.version) == (DEFAULT_RULE_ID, "triage-desk", 4)


def test_without_a_default_rule_in_the_table_the_complaint_office_gets_it():
    found = domain.match([rule("x", 1, "a", keywords=["소음"])], facts(title="문의"), default_department=OFFICE)
    assert found.default and found.rule.department == OFFICE and found.rule.version == 0


def test_default_rule_is_tried_last_whatever_its_priority():
    table = [Rule(DEFAULT_RULE_ID, "triage", 0, OFFICE), rule("x", 500, "a", keywords=["소음"])]
    assert domain.match(table, facts(title="소음"), default_department=OFFICE).rule.id == "x"


def test_default_rule_cannot_be_disabled_or_given_conditions():
    with pytest.raises(Conflict):
        domain.check_rule(
            Rule(DEFAULT_RULE_ID, "t", domain.DEFAULT_PRIORITY, OFFICE, enabled=False), departments=[OFFICE]
        )
    with pytest.raises(Invalid) as err:
        domain.check_rule(
            Rule(DEFAULT_RULE_ID, "t", domain.DEFAULT_PRIORITY, OFFICE, Conditions(keywords=("x",))),
            departments=[OFFICE],
        )
    assert err.value.field == "conditions"


# ----------------------------------------------------------- district, category


@pytest.mark.parametrize(
    ("rule_value", "district", "expected"),
    [
        ("해운대구", "부산광역시 해운대구 우1동", True),
        ("해운대구", "해운대구", True),
        ("해운대", "해운대구 중동", True),
        ("해운대구 우동", "해운대구 우동", True),
        ("해운대구 우동", "해운대구", False),
        ("반여동", "해운대구 반여1동", True),
        ("반여1동", "해운대구 반여2동", False),
        ("서구", "강서구 대저1동", False),
        ("강서구", "부산광역시강서구대저1동", True),
        ("기장군 기장읍", "기장군 기장읍 대라리", True),
        ("기장읍", "기장군기장읍", True),
        ("부산광역시 해운대구", "해운대구 우동", True),
        ("동구", "동래구 명장동", False),
        ("구서동", "금정구 구서동", True),
    ],
)
def test_district_matches_by_unit(rule_value, district, expected):
    assert domain.district_matches(rule_value, district) is expected


@pytest.mark.parametrize(
    ("rule_value", "category", "expected"),
    [
        ("환경", "환경", True),
        ("환경", "환경/소음", True),
        ("환경", "환경 > 소음 > 공사장", True),
        ("환경/소음", "환경 / 소음", True),
        ("환경/소음", "환경", False),
        ("환경", "생활환경", False),
    ],
)
def test_category_covers_what_is_under_it(rule_value, category, expected):
    assert domain.category_matches(rule_value, category) is expected


def test_keywords_ignore_spacing_case_and_unicode_form():
    r = rule("k", 1, "a", keywords=["CCTV 설치"])
    for title in ("cctv설치 요청", "CCTV  설치", unicodedata.normalize("NFD", "cctv 설치")):
        assert domain.match([r], facts(title=title), default_department=OFFICE).rule.id == "k"


def test_without_the_sealed_text_keyword_rules_cannot_match_and_the_reason_says_so():
    found = domain.match(sample_rules(), facts(text_available=False), default_department=OFFICE)
    assert found.default and "keywords not checked" in found.reason


# --------------------------------------------------------- rule validation


@pytest.mark.parametrize(
    ("r", "field"),
    [
        (rule("Bad Id", 1, "a", keywords=["x"]), "id"),
        (rule("ok", 1, "nowhere", keywords=["x"]), "department"),
        (rule("ok", -1, "a", keywords=["x"]), "priority"),
        (rule("ok", 1, "a"), "conditions"),
        (rule("ok", 1, "a", kinds=["complaint"]), "conditions.kinds"),
        (rule("ok", 1, "a", channels=["email"]), "conditions.channels"),
        (rule("ok", 1, "a", keywords=["  "]), "conditions.keywords"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(r, field):
    with pytest.raises(Invalid) as err:
        domain.check_rule(r, departments=["a"])
    assert err.value.field == field


# ------------------------------------------------------------- versions, audit


def test_every_change_is_a_new_version_with_an_audit_record():
    first = rule("noise", 10, "env", keywords=["소음"])
    doc = domain.new_rule_doc(first, actor="kim", now=NOW)
    assert doc["version"] == 1 and doc["audit"][0]["action"] == "created"
    changed = Rule.from_doc({**doc, "priority": 5})
    doc2 = domain.revise_rule_doc(doc, changed, action="updated", actor="lee", now=NOW)
    assert doc2 is not None and doc2["version"] == 2
    assert [v["version"] for v in doc2["versions"]] == [1, 2]
    assert doc2["versions"][0]["priority"] == 10 and doc2["versions"][1]["priority"] == 5
    last = doc2["audit"][-1]
    assert (last["actor"], last["action"], last["version"]) == ("lee", "updated", 2)
    assert last["changes"] == {"priority": {"from": 10, "to": 5}}


def test_a_change_that_changes_nothing_is_no_new_version():
    doc = domain.new_rule_doc(rule("noise", 10, "env", keywords=["소음"]), actor="kim", now=NOW)
    assert domain.revise_rule_doc(doc, Rule.from_doc(doc), action="updated", actor="kim", now=NOW) is None
