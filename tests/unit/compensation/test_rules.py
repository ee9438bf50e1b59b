"""The charter's rules, pure: eligibility, exclusions, idempotency keys, approval, budget, reversal, reward schedule."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from minwon import contracts as c
from minwon.errors import Conflict, Invalid
from services.compensation import domain
from services.compensation.domain import Budget, Case
from tests.unit.compensation.factories import SECRET, charter, charter_dict

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
WAIT = timedelta(hours=1)


def breach_case(kind: str = "inquiry_system", *, facts_seen: bool = True, **breach: object) -> Case:
    case = Case(receipt_no="2026-T-0000001", kind=kind if facts_seen else None, facts_seen=facts_seen)
    data = {
        "kind": kind,
        "department": "건축과",
        "due_at": "2026-11-19T09:00:00+00:00",
        "breached_at": "2026-11-19T09:00:01+00:00",
        **breach,
    }
    return domain.note_breach(case, data, now=NOW, settle=timedelta(0))


# ---------------------------------------------------------------- breach rule


@pytest.mark.parametrize(
    "kind", ["statutory", "inquiry_law", "inquiry_system", "suggestion", "grievance", "service_complaint"]
)
def test_a_missed_legal_period_earns_the_voucher(kind: str) -> None:
    case = breach_case(kind)
    verdict = domain.assess_breach(case, charter(), now=NOW, facts_wait=WAIT)
    assert verdict.outcome == domain.GRANT_IT
    claim = domain.breach_claim(case, charter())
    assert (claim.amount_krw, claim.cause, claim.instrument) == (10000, domain.DEADLINE_BREACH, domain.CULTURE_VOUCHER)
    assert claim.department == "건축과"
    assert claim.rule_version == "test-charter-7"


@pytest.mark.parametrize(("kind", "reason"), [("other", "kind:other"), ("petition", "kind:petition")])
def test_immediate_and_petition_kinds_are_excluded(kind: str, reason: str) -> None:
    verdict = domain.assess_breach(breach_case(kind), charter(), now=NOW, facts_wait=WAIT)
    assert (verdict.outcome, verdict.reason) == (domain.EXCLUDE, reason)


def test_an_immediate_period_is_excluded_whatever_the_kind() -> None:
    case = breach_case("statutory", immediate=True)  # a certificate: 즉시
    assert domain.assess_breach(case, charter(), now=NOW, facts_wait=WAIT).reason == "immediate"
    tracked = domain.note_immediate(breach_case("statutory"), {"period": "즉시"})
    assert domain.assess_breach(tracked, charter(), now=NOW, facts_wait=WAIT).reason == "immediate"


def test_excluded_kinds_come_from_the_charter_file() -> None:
    other_city = charter(excluded_kinds=["petition"])  # a city that pays for 기타민원 too
    assert domain.assess_breach(breach_case("other"), other_city, now=NOW, facts_wait=WAIT).outcome == domain.GRANT_IT
    assert domain.assess_breach(breach_case("petition"), other_city, now=NOW, facts_wait=WAIT).outcome == domain.EXCLUDE


def test_a_tracked_supplementation_request_excludes_even_without_the_breach_flag() -> None:
    case = domain.note_supplementation(breach_case())
    verdict = domain.assess_breach(case, charter(), now=NOW, facts_wait=WAIT)
    assert (verdict.outcome, verdict.reason) == (domain.EXCLUDE, "supplementation")


def test_a_tracked_extension_excludes_even_without_the_breach_flag() -> None:
    case = domain.note_extension(breach_case())
    verdict = domain.assess_breach(case, charter(), now=NOW, facts_wait=WAIT)
    assert (verdict.outcome, verdict.reason) == (domain.EXCLUDE, "extension")


@pytest.mark.parametrize(
    ("note", "reason"), [(domain.note_supplementation, "supplementation"), (domain.note_extension, "extension")]
)
def test_a_request_within_the_period_excludes_and_one_after_the_breach_does_not(note, reason) -> None:
    within = note(breach_case(), "2026-11-18T05:00:00+00:00")
    verdict = domain.assess_breach(within, charter(), now=NOW, facts_wait=WAIT)
    assert (verdict.outcome, verdict.reason) == (domain.EXCLUDE, reason)
    # six days after the period ran out: the breach stands and the voucher is granted
    late = note(breach_case(), "2026-11-25T05:00:00+00:00")
    assert domain.assess_breach(late, charter(), now=NOW, facts_wait=WAIT).outcome == domain.GRANT_IT
    # the first request counts: a late one after an in-time one still excludes
    both = note(note(breach_case(), "2026-11-18T05:00:00+00:00"), "2026-11-25T05:00:00+00:00")
    assert domain.assess_breach(both, charter(), now=NOW, facts_wait=WAIT).outcome == domain.EXCLUDE


@pytest.mark.parametrize(
    ("flag", "reason"), [("had_supplementation", "supplementation"), ("had_extension", "extension")]
)
def test_the_breach_events_flags_also_exclude(flag: str, reason: str) -> None:
    verdict = domain.assess_breach(breach_case(**{flag: True}), charter(), now=NOW, facts_wait=WAIT)
    assert (verdict.outcome, verdict.reason) == (domain.EXCLUDE, reason)


def test_a_breach_waits_for_the_complaints_facts_then_decides_on_its_own_data() -> None:
    case = breach_case(facts_seen=False)
    early = domain.assess_breach(case, charter(), now=NOW + timedelta(minutes=5), facts_wait=WAIT)
    assert early.outcome == domain.WAIT and early.until == NOW + WAIT
    late = domain.assess_breach(case, charter(), now=NOW + WAIT, facts_wait=WAIT)
    assert late.outcome == domain.GRANT_IT


def test_the_facts_arriving_bring_a_waiting_breach_forward() -> None:
    case = domain.postpone(breach_case(facts_seen=False), until=NOW + WAIT)
    seen = domain.note_received(case, {"kind": "petition"}, now=NOW + timedelta(minutes=2), settle=timedelta(0))
    assert seen.breach_evaluate_after is not None and case.breach_evaluate_after is not None
    assert seen.breach_evaluate_after < case.breach_evaluate_after
    assert domain.assess_breach(seen, charter(), now=NOW, facts_wait=WAIT).reason == "kind:petition"


def test_the_charter_pays_a_breach_once_per_complaint() -> None:
    case = breach_case()
    again = domain.note_breach(
        case,
        {"due_at": "2026-12-01T00:00:00+00:00", "kind": "inquiry_system"},
        now=NOW + timedelta(days=9),
        settle=timedelta(0),
    )
    assert again == case
    once = domain.entry_id(case.receipt_no, domain.DEADLINE_BREACH, "1")
    assert domain.breach_claim(case, charter()).entry_id == once


def test_a_decided_breach_is_not_assessed_again() -> None:
    case = domain.settle_breach(breach_case(), outcome="granted", reason=None, entry_id="x", now=NOW)
    with pytest.raises(Conflict):
        domain.assess_breach(case, charter(), now=NOW, facts_wait=WAIT)


# ---------------------------------------------------------------- revisit rule


def test_each_revisit_is_its_own_occurrence() -> None:
    case = Case(receipt_no="2026-T-0000002", department="민원과")
    first = domain.revisit_claim(case, charter(), occurrence="evt-1", occurred_at=NOW.isoformat())
    second = domain.revisit_claim(case, charter(), occurrence="evt-2", occurred_at=NOW.isoformat())
    replay = domain.revisit_claim(case, charter(), occurrence="evt-1", occurred_at=NOW.isoformat())
    assert first.amount_krw == second.amount_krw == 10000
    assert first.cause == domain.STAFF_REVISIT and first.department == "민원과"
    assert first.entry_id != second.entry_id
    assert first.entry_id == replay.entry_id


def test_a_revisit_waits_for_the_department_until_the_facts_wait_is_over() -> None:
    case = domain.note_revisit(
        Case(receipt_no="r"), occurrence="e1", occurred_at=NOW.isoformat(), now=NOW, settle=timedelta(0)
    )
    assert domain.note_revisit(case, occurrence="e1", occurred_at=NOW.isoformat(), now=NOW, settle=timedelta(0)) == case
    claims, until = domain.assess_revisits(case, charter(), now=NOW, facts_wait=WAIT)
    assert claims == [] and until == NOW + WAIT
    routed = domain.note_department(domain.postpone(case, until=NOW), "세무과", now=NOW, settle=timedelta(0))
    [claim], until = domain.assess_revisits(routed, charter(), now=NOW, facts_wait=WAIT)
    assert (claim.department, claim.occurrence, until) == ("세무과", "e1", None)
    late, _ = domain.assess_revisits(case, charter(), now=NOW + WAIT, facts_wait=WAIT)
    assert [c.department for c in late] == [domain.UNASSIGNED]


def test_settling_revisits_keeps_one_reported_meanwhile() -> None:
    case = domain.note_revisit(
        Case(receipt_no="r", department="d"), occurrence="e1", occurred_at=NOW.isoformat(), now=NOW, settle=timedelta(0)
    )
    meanwhile = domain.note_revisit(case, occurrence="e2", occurred_at=NOW.isoformat(), now=NOW, settle=timedelta(0))
    settled = domain.settle_revisits(meanwhile, seen=["e1"], granted=["e1"], until=None)
    assert [r["occurrence"] for r in settled.revisits] == ["e2"] and settled.revisit_evaluate_after is not None
    assert domain.settle_revisits(case, seen=["e1"], granted=["e1"], until=None).revisit_evaluate_after is None


def test_an_unrouted_complaints_revisit_is_charged_to_unassigned() -> None:
    claim = domain.revisit_claim(Case(receipt_no="r"), charter(), occurrence="e", occurred_at=NOW.isoformat())
    assert claim.department == domain.UNASSIGNED


# ---------------------------------------------------------------- ledger entries


def _claim(amount: int = 10000, department: str = "건축과") -> domain.Claim:
    return domain.Claim(
        receipt_no="2026-T-0000003",
        cause=domain.DEADLINE_BREACH,
        occurrence="1",
        amount_krw=amount,
        instrument=domain.CULTURE_VOUCHER,
        department=department,
        rule_version="v9",
        occurred_at="2026-12-31T16:30:00+00:00",
    )


def test_the_budget_year_is_the_korean_calendar_year() -> None:
    assert _claim().year == 2027  # 2027-01-01 01:30 in Seoul


def test_a_granted_entry_and_its_event_carry_cause_rule_version_amount_and_voucher_code() -> None:
    entry, events = domain.open_entry(_claim(), budget_ok=True, now=NOW, voucher_secret=SECRET, source="/t")
    assert entry["status"] == domain.GRANTED and entry["rule_version"] == "v9" and entry["amount_krw"] == 10000
    [event] = events
    assert event.type == c.COMPENSATION_GRANTED
    assert (
        event.id
        == domain.open_entry(_claim(), budget_ok=True, now=NOW + WAIT, voucher_secret=SECRET, source="/t")[1][0].id
    )
    assert set(event.data) >= {
        "receipt_no",
        "grant_id",
        "amount_krw",
        "cause",
        "rule_version",
        "department",
        "voucher_code",
        "occurred_at",
    }
    assert event.data["voucher_code"] == domain.voucher_code(SECRET, entry["id"])


def test_voucher_codes_are_16_characters_deterministic_and_keyed() -> None:
    code = domain.voucher_code(SECRET, "grant-1")
    assert len(code) == 16 and set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert code == domain.voucher_code(SECRET, "grant-1")
    assert code != domain.voucher_code(SECRET, "grant-2")
    assert code != domain.voucher_code(b"another-secret", "grant-1")


def test_a_refused_entry_is_recorded_with_a_refused_event() -> None:
    entry, [event] = domain.open_entry(_claim(), budget_ok=False, now=NOW, voucher_secret=SECRET, source="/t")
    assert entry["status"] == domain.REFUSED and entry["reason"] == domain.BUDGET_EXHAUSTED
    assert event.type == c.COMPENSATION_REFUSED and event.data["reason"] == domain.BUDGET_EXHAUSTED


@pytest.mark.parametrize(
    ("amount", "threshold", "expected"),
    [
        (10000, 100_000, False),
        (100_000, 100_000, False),
        (100_001, 100_000, True),
        (10**9, None, False),
    ],
)
def test_only_grants_above_the_threshold_wait_for_approval(amount: int, threshold: int | None, expected: bool) -> None:
    assert domain.needs_approval(amount, threshold) is expected


def test_an_entry_awaiting_approval_publishes_nothing_until_approved() -> None:
    entry, events = domain.open_entry(_claim(500_000), budget_ok=None, now=NOW, voucher_secret=SECRET, source="/t")
    assert entry["status"] == domain.AWAITING_APPROVAL and events == []
    approved, [event] = domain.approve(entry, budget_ok=True, approver="과장", now=NOW, source="/t")
    assert approved["status"] == domain.GRANTED and event.type == c.COMPENSATION_GRANTED
    assert [h["status"] for h in approved["history"]] == [domain.AWAITING_APPROVAL, domain.GRANTED]
    with pytest.raises(Conflict):
        domain.approve(approved, budget_ok=True, approver="과장", now=NOW, source="/t")


def test_approval_with_the_budget_spent_refuses() -> None:
    entry, _ = domain.open_entry(_claim(500_000), budget_ok=None, now=NOW, voucher_secret=SECRET, source="/t")
    refused, [event] = domain.approve(entry, budget_ok=False, approver="과장", now=NOW, source="/t")
    assert refused["status"] == domain.REFUSED and event.type == c.COMPENSATION_REFUSED


def test_a_rejection_needs_a_reason_and_keeps_it_off_the_event() -> None:
    entry, _ = domain.open_entry(_claim(500_000), budget_ok=None, now=NOW, voucher_secret=SECRET, source="/t")
    with pytest.raises(Invalid):
        domain.reject(entry, by="s", reason=" ", now=NOW, source="/t")
    rejected, [event] = domain.reject(entry, by="s", reason="중복 신고", now=NOW, source="/t")
    assert rejected["status"] == domain.REJECTED
    assert "중복 신고" not in event.to_json().decode()


def test_a_reversal_is_a_new_entry_with_the_opposite_amount() -> None:
    entry, _ = domain.open_entry(_claim(), budget_ok=True, now=NOW, voucher_secret=SECRET, source="/t")
    reversal, [event] = domain.reverse(entry, reason="잘못 지급", code="error", by="s", now=NOW, source="/t")
    assert reversal["id"] == domain.reversal_id(entry["id"]) != entry["id"]
    assert reversal["amount_krw"] == -10000 and reversal["reverses"] == entry["id"]
    assert entry["status"] == domain.GRANTED  # the grant itself is untouched
    assert event.type == c.COMPENSATION_REVERSED and event.data["grant_id"] == entry["id"]
    assert "잘못 지급" not in event.to_json().decode()


@pytest.mark.parametrize("budget_ok", [False, None])
def test_only_a_granted_entry_can_be_reversed(budget_ok: bool | None) -> None:
    entry, _ = domain.open_entry(_claim(), budget_ok=budget_ok, now=NOW, voucher_secret=SECRET, source="/t")
    with pytest.raises(Conflict):
        domain.reverse(entry, reason="x", code="error", by="s", now=NOW, source="/t")


def test_a_reversal_cannot_itself_be_reversed() -> None:
    entry, _ = domain.open_entry(_claim(), budget_ok=True, now=NOW, voucher_secret=SECRET, source="/t")
    reversal, _ = domain.reverse(entry, reason="x", code="error", by="s", now=NOW, source="/t")
    with pytest.raises(Conflict):
        domain.reverse(reversal, reason="x", code="error", by="s", now=NOW, source="/t")


# ---------------------------------------------------------------- budget


def test_a_budget_refuses_once_spent() -> None:
    budget = Budget(2026, "건축과", limit_krw=25_000)
    one = domain.reserve(budget, 10000)
    two = domain.reserve(one, 10000) if one else None
    assert two is not None and two.spent_krw == 20_000 and two.remaining_krw == 5_000
    assert domain.reserve(two, 10000) is None
    assert domain.reserve(domain.release(two, 10000), 10000) is not None


def test_a_budget_can_be_spent_exactly_and_no_limit_never_refuses() -> None:
    assert domain.reserve(Budget(2026, "d", limit_krw=10000), 10000) is not None
    assert domain.reserve(Budget(2026, "d", limit_krw=None, spent_krw=10**12), 10**9) is not None
    with pytest.raises(Invalid):
        domain.set_limit(Budget(2026, "d", None), -1)


# ---------------------------------------------------------------- whistleblower


def _independent_reward(recovered: int) -> int:
    """The national table, written out on its own: 30% / 3천만+20% / 1.1억+14% / 3.2억+8% / 4.8억+4%."""
    table = [
        (4_000_000_000, 480_000_000, 4),
        (2_000_000_000, 320_000_000, 8),
        (500_000_000, 110_000_000, 14),
        (100_000_000, 30_000_000, 20),
        (0, 0, 30),
    ]
    for over, base, pct in table:
        if recovered > over:
            amount = base + (recovered - over) * pct // 100
            return min(amount // 1000 * 1000, 3_000_000_000)
    return 0


@pytest.mark.parametrize(
    ("recovered", "reward"),
    [
        (10_000_000, 3_000_000),
        (100_000_000, 30_000_000),
        (500_000_000, 110_000_000),
        (2_000_000_000, 320_000_000),
        (4_000_000_000, 480_000_000),
        (1_234_567, 370_000),  # 370,370.1 rounded down to the thousand won
        (10**12, 3_000_000_000),  # capped
    ],
)
def test_the_reward_schedule_by_recovered_amount_band(recovered: int, reward: int) -> None:
    assert charter().whistleblower.reward(recovered) == reward


def test_the_reward_schedule_matches_an_independent_computation() -> None:
    rng = random.Random(20261120)
    schedule = charter().whistleblower
    for _ in range(2000):
        recovered = int(10 ** rng.uniform(3, 11.5))
        assert schedule.reward(recovered) == _independent_reward(recovered), recovered


def test_the_schedule_is_continuous_at_band_edges() -> None:
    schedule = charter().whistleblower
    for band in schedule.bands[1:]:
        below = schedule.reward(band.over_krw)
        above = schedule.reward(band.over_krw + 1000)
        assert 0 <= above - below <= 1000


def test_a_whistleblower_claim_needs_a_verified_report_and_a_pseudonym() -> None:
    kwargs = dict(receipt_no="2026-T-0000009", department="감사담당관", recovered_krw=50_000_000, verified_at=NOW)
    with pytest.raises(Invalid) as unverified:
        domain.whistleblower_claim(charter(), complainant_ref="p-1", verified=False, **kwargs)  # type: ignore[arg-type]
    assert unverified.value.field == "verified"
    with pytest.raises(Invalid) as named:
        domain.whistleblower_claim(charter(), complainant_ref="홍길동", verified=True, **kwargs)  # type: ignore[arg-type]
    assert named.value.field == "complainant_ref"
    claim = domain.whistleblower_claim(charter(), complainant_ref="p-1", verified=True, **kwargs)  # type: ignore[arg-type]
    assert claim.amount_krw == 15_000_000 and claim.instrument == domain.CASH_REWARD


def test_a_whistleblower_grant_keeps_the_pseudonym_off_the_event() -> None:
    claim = domain.whistleblower_claim(
        charter(),
        receipt_no="2026-T-0000010",
        complainant_ref="p-secret-ref",
        department="감사담당관",
        verified=True,
        recovered_krw=1_000_000,
        verified_at=NOW,
    )
    entry, [event] = domain.open_entry(claim, budget_ok=True, now=NOW, voucher_secret=SECRET, source="/t")
    assert entry["complainant_ref"] == "p-secret-ref"
    assert "p-secret-ref" not in event.to_json().decode()


@pytest.mark.parametrize(
    "verified_at",
    [
        datetime(2026, 11, 20, 10, 0),  # no offset
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 14, 59, tzinfo=UTC),  # 23:59 in Korea
        NOW + domain.CLOCK_SKEW + timedelta(seconds=1),
        datetime(9999, 12, 31, tzinfo=UTC),
    ],
)
def test_a_verification_time_is_a_plausible_instant(verified_at: datetime) -> None:
    with pytest.raises(Invalid) as refused:
        domain.check_verified_at(verified_at, NOW)
    assert refused.value.field == "verified_at"


@pytest.mark.parametrize(
    "verified_at", [domain.EARLIEST_VERIFICATION, NOW - timedelta(days=400), NOW + domain.CLOCK_SKEW]
)
def test_a_verification_time_from_2000_up_to_the_clock_skew_is_kept(verified_at: datetime) -> None:
    assert domain.check_verified_at(verified_at, NOW) == verified_at


def test_no_reward_when_the_schedule_pays_nothing() -> None:
    with pytest.raises(Invalid):
        domain.whistleblower_claim(
            charter(),
            receipt_no="r",
            complainant_ref="p-1",
            department="d",
            verified=True,
            recovered_krw=0,
            verified_at=NOW,
        )


# ---------------------------------------------------------------- charter file and summary


def test_a_malformed_charter_fails_loudly() -> None:
    bad = charter_dict()
    del bad["rules"]["staff_revisit"]
    with pytest.raises(ValueError, match="malformed charter"):
        domain.Charter.from_dict(bad)
    shifted = charter_dict()
    shifted["rules"]["whistleblower"]["bands"][0]["over_krw"] = 5
    with pytest.raises(ValueError):
        domain.Charter.from_dict(shifted)


def test_the_rate_is_read_exactly() -> None:
    assert charter().whistleblower.bands[2].rate_percent == Decimal("14")


def test_the_summary_is_net_of_reversals_and_counts_refusals() -> None:
    grants = [
        domain.open_entry(
            domain.Claim(
                receipt_no=f"r{i}",
                cause=cause,
                occurrence="1",
                amount_krw=10000,
                instrument="culture_voucher",
                department=dept,
                rule_version="v",
                occurred_at=NOW.isoformat(),
            ),
            budget_ok=ok,
            now=NOW,
            voucher_secret=SECRET,
            source="/t",
        )[0]
        for i, (cause, dept, ok) in enumerate(
            [
                (domain.DEADLINE_BREACH, "A", True),
                (domain.DEADLINE_BREACH, "A", True),
                (domain.STAFF_REVISIT, "A", True),
                (domain.DEADLINE_BREACH, "B", True),
                (domain.DEADLINE_BREACH, "B", False),
            ]
        )
    ]
    reversal, _ = domain.reverse(grants[0], reason="x", code="error", by="s", now=NOW, source="/t")
    summary = domain.summarize([*grants, reversal], [Budget(2026, "B", 10000, 10000)])
    a, b = summary["departments"]["A"], summary["departments"]["B"]
    assert (a["count"], a["amount_krw"], a["reversed"]) == (2, 20000, 1)
    assert a["causes"] == {
        domain.DEADLINE_BREACH: {"count": 1, "amount_krw": 10000},
        domain.STAFF_REVISIT: {"count": 1, "amount_krw": 10000},
    }
    assert (b["count"], b["refused"], b["budget"]["remaining_krw"]) == (1, 1, 0)
    assert summary["total"] == {"count": 3, "amount_krw": 30000, "refused": 1}
