"""The alert rules' runbook links, absolute, from one setting: ``RUNBOOK_BASE_URL``.

Every alert's ``runbook_url`` is ``<RUNBOOK_BASE_URL>#<anchor>``, the anchor being the alert's section of
docs/operations.md ("Answer the alerts"). The default, :data:`DEFAULT`, is the repository's own
docs/operations.md as docker-compose.yml serves it (the api-gateway on 127.0.0.1:8000 of the compose host, where
Prometheus and Grafana run). Where the on-call team reads the runbook elsewhere (the city's wiki or code host),
render the rules with that address and regenerate the Kubernetes copy:

    RUNBOOK_BASE_URL=https://wiki.city.go.kr/minwon/operations.md .venv/bin/python deploy/prometheus/runbooks.py
    .venv/bin/python deploy/tools/sync_k8s.py
    .venv/bin/python deploy/prometheus/runbooks.py --check   # exit 1 when a link does not start with the base

On Kubernetes the metro overlay sets its own base without editing this file (k8s/overlays/metro/runbooks.yaml,
a kustomize replacement of the part before ``#``). docs/operations.md, "Alerts".
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
FILES = (HERE / "alerts.yml", HERE / "alerts.test.yml")
DEFAULT = "http://127.0.0.1:8000/docs/operations.md"
LINK = re.compile(r'(runbook_url:\s*)"([^"#]*)#([a-z0-9-]+)"')


def base_url() -> str:
    base = os.environ.get("RUNBOOK_BASE_URL", "").strip() or DEFAULT
    parsed = urlparse(base)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.fragment:
        raise SystemExit(f"RUNBOOK_BASE_URL must be an absolute http(s) URL without '#': {base!r}")
    return base


def links(text: str) -> list[tuple[str, str]]:
    """(base, anchor) of every runbook link of a rules file."""
    return [(m.group(2), m.group(3)) for m in LINK.finditer(text)]


def render(text: str, base: str) -> str:
    return LINK.sub(lambda m: f'{m.group(1)}"{base}#{m.group(3)}"', text)


def main(argv: list[str]) -> int:
    base = base_url()
    if "--check" in argv:
        wrong = [(path.name, b, a) for path in FILES for b, a in links(path.read_text("utf-8")) if b != base]
        for name, b, anchor in wrong:
            print(
                f"{name}: runbook #{anchor} links to {b!r}, not {base!r}: run deploy/prometheus/runbooks.py",
                file=sys.stderr,
            )
        return 1 if wrong else 0
    for path in FILES:
        path.write_text(render(path.read_text("utf-8"), base), "utf-8")
        print(f"{path.name}: runbook links now start with {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
