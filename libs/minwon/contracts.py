"""Event types every service may publish or consume (``kr.minwon.<domain>.<event>.v1``).

The data of every event on a shared topic is free of personal data: a
pseudonymous complainant reference, codes, times and ids only. Titles, bodies,
names and contacts travel only sealed, on the restricted topic
``minwon.private.complaints.v1`` (docs/privacy.md).
"""

from __future__ import annotations

from minwon.events import event_type

# intake -> minwon.complaints.v1
COMPLAINT_RECEIVED = event_type("complaint", "received")
COMPLAINT_ACKNOWLEDGED = event_type("complaint", "acknowledged")
COMPLAINT_SUPPLEMENTATION_REQUESTED = event_type("complaint", "supplementation_requested")
COMPLAINT_SUPPLEMENT_RECEIVED = event_type("complaint", "supplement_received")
COMPLAINT_EXTENDED = event_type("complaint", "extended")
COMPLAINT_TRANSFERRED = event_type("complaint", "transferred")
COMPLAINT_CLOSED = event_type("complaint", "closed")
COMPLAINT_WITHDRAWN = event_type("complaint", "withdrawn")
COMPLAINT_REVISIT_REPORTED = event_type("complaint", "revisit_reported")
# cooperating departments (협조부서): a request, its reply and its cancellation (the texts stay in intake)
COMPLAINT_COOPERATION_REQUESTED = event_type("complaint", "cooperation_requested")
COMPLAINT_COOPERATION_REPLIED = event_type("complaint", "cooperation_replied")
COMPLAINT_COOPERATION_CANCELLED = event_type("complaint", "cooperation_cancelled")

# intake -> minwon.private.complaints.v1 (restricted: routing and notification)
COMPLAINT_SEALED = event_type("complaint", "sealed")

# routing -> minwon.routing.v1
COMPLAINT_ROUTED = event_type("complaint", "routed")
COMPLAINT_ASSIGNED = event_type("complaint", "assigned")
COMPLAINT_REASSIGNED = event_type("complaint", "reassigned")

# deadline -> minwon.deadlines.v1
DEADLINE_SET = event_type("deadline", "set")
DEADLINE_UPDATED = event_type("deadline", "updated")
DEADLINE_WARNING = event_type("deadline", "warning")
DEADLINE_ESCALATED = event_type("deadline", "escalated")
DEADLINE_BREACHED = event_type("deadline", "breached")
DEADLINE_SLA_MISSED = event_type("deadline", "sla_missed")
DEADLINE_PROGRESS_DUE = event_type("deadline", "progress_due")
DEADLINE_HOLIDAY_ADDED = event_type("deadline", "holiday_added")
# a cooperation request's own clock: its due time set, the warning before it, and the overdue escalation
DEADLINE_COOPERATION_SET = event_type("deadline", "cooperation_set")
DEADLINE_COOPERATION_WARNING = event_type("deadline", "cooperation_warning")
DEADLINE_COOPERATION_OVERDUE = event_type("deadline", "cooperation_overdue")

# notification -> minwon.notifications.v1
NOTIFICATION_SENT = event_type("notification", "sent")
NOTIFICATION_FAILED = event_type("notification", "failed")

# compensation -> minwon.compensations.v1
COMPENSATION_GRANTED = event_type("compensation", "granted")
COMPENSATION_REFUSED = event_type("compensation", "refused")
COMPENSATION_REVERSED = event_type("compensation", "reversed")

# survey -> minwon.surveys.v1
SURVEY_INVITED = event_type("survey", "invited")
SURVEY_RESPONDED = event_type("survey", "responded")
SURVEY_LOW_SCORE = event_type("survey", "low_score")

# notification -> minwon.public.complaints.v1 (other agencies; docs/public-events.md, docs/asyncapi.yaml)
PUBLIC_COMPLAINT_RECEIVED = event_type("public.complaint", "received")
PUBLIC_COMPLAINT_ROUTED = event_type("public.complaint", "routed")
PUBLIC_COMPLAINT_ASSIGNED = event_type("public.complaint", "assigned")
PUBLIC_COMPLAINT_EXTENDED = event_type("public.complaint", "extended")
PUBLIC_COMPLAINT_CLOSED = event_type("public.complaint", "closed")
PUBLIC_COMPLAINT_BREACHED = event_type("public.complaint", "breached")
PUBLIC_COMPLAINT_TRANSFERRED = event_type("public.complaint", "transferred")

# notification -> minwon.deadletter.v1: a webhook delivery to an agency given up on
SUBSCRIPTION_DELIVERY_DEAD = event_type("subscription", "delivery_dead")
