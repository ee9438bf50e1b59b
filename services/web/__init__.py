"""The small web front (웹 화면): the officials' console at ``/console/`` and the
citizen portal at ``/``.

Not a domain service: it holds no rules and no complaints. Every page calls the
six services' HTTP APIs with httpx and renders server-side Jinja2 templates.

Glossary: console / 업무 화면; queue / 처리 대기 목록; overdue board /
기한 경과·사전예고 현황; portal / 민원 신청·조회; check code / 확인 코드.
"""
