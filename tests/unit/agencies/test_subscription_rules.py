"""Webhook URLs, API keys."""

from __future__ import annotations

import pytest

from minwon.errors import Invalid
from services.notification.agencies.subscriptions import check_url, key_code, key_hash, new_api_key


@pytest.mark.parametrize("url", ["https://hooks.police.go.kr/minwon", "https://hooks.example.kr:8443/a?b=c"])
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url, allow_loopback=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.police.go.kr/minwon",
        "ftp://hooks.example.kr/",
        "https://user:pw@hooks.example.kr/",
        "https:///nohost",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "http://127.0.0.1:8080/x",
        "https://hooks.example.kr/#frag",
        "not a url",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(Invalid) as error:
        check_url(url, allow_loopback=False)
    assert error.value.field == "url"


def test_plain_http_to_the_loopback_host_only_when_the_setting_allows_it() -> None:
    assert check_url("http://127.0.0.1:8080/hook", allow_loopback=True) == "http://127.0.0.1:8080/hook"
    assert check_url("http://localhost:1/h", allow_loopback=True)
    for url in ("http://10.1.1.1/h", "http://hooks.example.kr/h"):
        with pytest.raises(Invalid):
            check_url(url, allow_loopback=True)


def test_an_api_key_names_its_agency_and_is_stored_as_a_hash() -> None:
    key = new_api_key("busan-police")
    assert key.startswith("mwk_busan-police_") and len(key) > 50
    assert key_code(key) == "busan-police"
    assert key_hash(key) != key and len(key_hash(key)) == 64 and key not in key_hash(key)
    assert new_api_key("busan-police") != key
    for bad in ("", "mwk_", "Bearer x", "mwk_nounderscore", "xx_busan_abc"):
        assert key_code(bad) is None
