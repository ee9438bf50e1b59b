"""Production refuses the development secrets: a distributed service (or ``MINWON_ENV=production``)
fails at startup naming every variable still at its public default, before connecting to anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.host import build_app
from minwon.settings import DevelopmentSecrets, Settings
from tests.factories import TEST_SECRETS, TEST_SECRETS_ENV

ROOT = Path(__file__).resolve().parents[3]
INTAKE = ("MINWON_PII_KEY", "MINWON_CONTACTS_KEY", "MINWON_CHECK_CODE_SECRET", "MINWON_AUTH_SECRET")
"""What intake uses; the survey secret is the survey service's (each service is given only its own)."""
SECRETS = (*INTAKE, "MINWON_SURVEY_SECRET")
OWN = ("MINWON_NOTIFICATION_KEY", "MINWON_NOTIFICATION_PUBLIC_ID_SECRET", "MINWON_COMPENSATION_VOUCHER_SECRET")


def _service(tmp_path: Path, name: str = "intake", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in (*SECRETS, *OWN, *TEST_SECRETS_ENV, "MINWON_ENV")}
    # brokers nobody listens on: the refusal must come before any connection
    clean.update(
        MINWON_BACKEND="distributed",
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9",
        MONGODB_URI="mongodb://127.0.0.1:9/",
        MINWON_DATA_DIR=str(tmp_path / "var"),
        MINWON_HTTP_PORT="9",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", "service", name],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_distributed_service_with_development_secrets_exits_naming_each(tmp_path: Path) -> None:
    done = _service(tmp_path)
    assert done.returncode != 0
    refusal = done.stderr.strip().splitlines()[-1]
    assert "DevelopmentSecrets" in refusal and "MINWON_BACKEND=distributed" in refusal
    for name in INTAKE:
        assert name in refusal, (name, done.stderr[-2000:])
    assert "MINWON_SURVEY_SECRET" not in refusal  # not intake's


def test_one_secret_left_at_its_default_is_the_one_named(tmp_path: Path) -> None:
    env = {k: v for k, v in TEST_SECRETS_ENV.items() if k != "MINWON_CHECK_CODE_SECRET"}
    done = _service(tmp_path, **env)
    assert done.returncode != 0
    refusal = done.stderr.strip().splitlines()[-1]
    assert "MINWON_CHECK_CODE_SECRET is still at the development default" in refusal
    assert not [name for name in SECRETS if name != "MINWON_CHECK_CODE_SECRET" and name in refusal]


def test_each_service_is_refused_for_the_secrets_it_uses(tmp_path: Path) -> None:
    survey = _service(tmp_path, "survey").stderr.strip().splitlines()[-1]
    assert "MINWON_SURVEY_SECRET" in survey and "MINWON_AUTH_SECRET" in survey and "MINWON_PII_KEY" not in survey
    shared = {k: v for k, v in TEST_SECRETS_ENV.items() if k not in OWN}
    notification = _service(tmp_path, "notification", **shared).stderr.strip().splitlines()[-1]
    assert "MINWON_NOTIFICATION_KEY, MINWON_NOTIFICATION_PUBLIC_ID_SECRET are still" in notification


def test_minwon_env_production_refuses_them_on_the_embedded_backend_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINWON_WEB_SESSION_SECRET", raising=False)
    with pytest.raises(DevelopmentSecrets) as refused:
        build_app(Settings(env="production", data_dir=tmp_path / "var"))
    for name in (*SECRETS, *OWN, "MINWON_WEB_SESSION_SECRET"):  # the standalone app serves the web front too
        assert name in str(refused.value)
    for name in OWN:
        monkeypatch.setenv(name, f"test-{name.lower()}" if "KEY" not in name else TEST_SECRETS["pii_key"])
    with pytest.raises(DevelopmentSecrets) as web_only:
        build_app(Settings(env="production", data_dir=tmp_path / "var", **TEST_SECRETS))
    assert str(web_only.value).count("MINWON_") == 2 and "MINWON_WEB_SESSION_SECRET" in str(web_only.value)

    monkeypatch.setenv("MINWON_WEB_SESSION_SECRET", TEST_SECRETS_ENV["MINWON_WEB_SESSION_SECRET"])
    assert build_app(Settings(env="production", data_dir=tmp_path / "var", **TEST_SECRETS)) is not None
    assert build_app(Settings(data_dir=tmp_path / "dev")) is not None  # development keeps its defaults


def test_the_web_front_alone_refuses_development_secrets_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.web.app import create_app
    from services.web.settings import WebSettings

    monkeypatch.delenv("MINWON_WEB_SESSION_SECRET", raising=False)
    with pytest.raises(DevelopmentSecrets) as refused:
        create_app(Settings(env="production"), WebSettings())
    assert "MINWON_AUTH_SECRET" in str(refused.value) and "MINWON_WEB_SESSION_SECRET" in str(refused.value)
    monkeypatch.setenv("MINWON_WEB_SESSION_SECRET", TEST_SECRETS_ENV["MINWON_WEB_SESSION_SECRET"])
    assert create_app(Settings(env="production", **TEST_SECRETS), WebSettings()) is not None
    assert create_app(Settings(), WebSettings()) is not None  # development keeps its defaults
