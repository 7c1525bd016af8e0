"""Customers signed in by the brand's own identity provider: tokens signed with its
private keys (RS256, ES256, EdDSA) and checked against the JWKS it publishes, served by a
real HTTP server on loopback; several issuers at once; a key rotation in the middle of a
burst of orders; and every forged or misdirected token refused with 401, never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from launchday.config import ConfigError, Settings
from launchday.identity.issuers import IssuerConfigError, parse_issuers
from tests.jwks_server import AUDIENCE, ISS, JwksServer, SigningKey, serving_jwks
from tests.support import ADMIN_KEY, Database, customer_token, launch_body, loopback_server

SLUG = "yu7-2025"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
APP_ISS = "https://accounts.brand.example/app"


def issuers_toml(jwks: JwksServer, app_jwks: Path, unknown_kid_seconds: float = 60) -> str:
    return f"""
[[issuer]]
name = "brand-id"
iss = "{ISS}"
audience = "{AUDIENCE}"
jwks_url = "{jwks.url}"
leeway_seconds = 30
refresh_seconds = 1
unknown_kid_seconds = {unknown_kid_seconds}

[[issuer]]
name = "brand-app"
iss = "{APP_ISS}"
audience = ["launchday", "shop"]
jwks_file = "{app_jwks}"
algorithms = ["EdDSA"]
customer_claim = "uid"
"""


@pytest.fixture
def keys() -> dict[str, SigningKey]:
    return {
        "rsa-1": SigningKey.make("rsa-1", "RS256"),
        "rsa-2": SigningKey.make("rsa-2", "RS256"),
        "ec-1": SigningKey.make("ec-1", "ES256"),
        "app-1": SigningKey.make("app-1", "EdDSA"),
    }


@contextmanager
def serve(
    database: Database,
    jwks: JwksServer,
    keys: dict[str, SigningKey],
    tmp_path: Path,
    unknown_kid_seconds: float = 60,
) -> Iterator[httpx.Client]:
    app_jwks = tmp_path / "app-jwks.json"
    app_jwks.write_text(json.dumps({"keys": [keys["app-1"].public_jwk()]}))
    issuers = parse_issuers(issuers_toml(jwks, app_jwks, unknown_kid_seconds))
    with (
        loopback_server(database.settings(issuers=issuers)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        answer = client.post("/api/v1/launches", json=launch_body(), headers=ADMIN)
        assert answer.status_code == 201, answer.text
        yield client


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def crafted(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None) -> str:
    """A token written by hand, as an attacker would: PyJWT refuses to make these."""
    signed = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signed + "."
    return f"{signed}.{b64(hmac.new(hmac_key, signed.encode(), hashlib.sha256).digest())}"


def order(client: httpx.Client, token: str, key: str, sku: str = "YU7-MAX") -> httpx.Response:
    return client.post(
        f"/api/v1/launches/{SLUG}/orders",
        json={"sku": sku},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )


def test_tokens_of_the_brands_identity_providers_place_and_read_orders(
    sqlite_database: Database, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    with (
        serving_jwks(keys["rsa-1"], keys["ec-1"]) as jwks,
        serve(sqlite_database, jwks, keys, tmp_path) as client,
    ):
        tokens = {
            "c-rsa": keys["rsa-1"].token("c-rsa"),
            "c-ec": keys["ec-1"].token("c-ec"),
            "c-app": keys["app-1"].token("c-app", iss=APP_ISS, aud="shop", claim="uid"),
            "c-own": customer_token("c-own"),  # launchday's own secret still works
        }
        for customer, token in tokens.items():
            placed = order(client, token, customer)
            assert placed.status_code == 201, (customer, placed.text)
            assert placed.json()["customer"] == customer
            read = client.get(
                f"/api/v1/orders/{placed.json()['id']}",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert read.status_code == 200
        # A customer of one issuer never reads another's order.
        theirs = order(client, tokens["c-ec"], "c-ec").json()["id"]
        other = client.get(
            f"/api/v1/orders/{theirs}", headers={"Authorization": f"Bearer {tokens['c-rsa']}"}
        )
        assert other.status_code in (403, 404)
        assert jwks.reads == 1  # read at start; verified tokens are remembered


def test_every_forged_or_misdirected_token_is_refused_with_401(
    sqlite_database: Database, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    rsa = keys["rsa-1"]
    stranger = SigningKey.make("rsa-1", "RS256")  # the same kid, another private key
    unknown = SigningKey.make("rsa-9", "RS256")
    public_pem = rsa.private.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"sub": "c-x", "iss": ISS, "aud": AUDIENCE, "exp": int(time.time()) + 600}
    hs_over_public = crafted({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims, public_pem)
    unsigned = crafted({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims, None)
    refused = {
        "unknown key": unknown.token("c-x"),
        "forged with the known kid": stranger.token("c-x"),
        "wrong iss": rsa.token("c-x", iss="https://evil.example"),
        "wrong aud": rsa.token("c-x", aud="another-service"),
        "HS256 over the public key": hs_over_public,
        "alg none": unsigned,
        "expired beyond the leeway": rsa.token("c-x", ttl=-31),
        "no customer claim": rsa.token("c-x", claim="name"),
        "EdDSA issuer's token with an RSA key": rsa.token("c-x", iss=APP_ISS, claim="uid"),
        "garbage": "not.a.token",
    }
    with serving_jwks(rsa) as jwks, serve(sqlite_database, jwks, keys, tmp_path) as client:
        for what, token in refused.items():
            answer = order(client, token, what.replace(" ", "-"))
            assert answer.status_code == 401, (what, answer.status_code, answer.text)
            assert answer.json()["error"]["code"] == "unauthenticated", what
        # Within the leeway an expired token still passes (clocks drift).
        assert order(client, rsa.token("c-y", ttl=-20), "skew").status_code == 201
        # A burst of made-up key ids reads the JWKS at most once a minute.
        reads = jwks.reads
        for n in range(20):
            assert order(client, SigningKey.make(f"k{n}").token("c-z"), f"z{n}").status_code == 401
        assert jwks.reads - reads <= 1
        stored = client.get(f"/api/v1/launches/{SLUG}/report", headers=ADMIN).json()
        assert sum(stored["orders"]["by_sku"].values()) == 1  # the one within the leeway


def test_a_key_rotation_in_the_middle_of_a_burst_of_orders(
    sqlite_database: Database, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    old, new = keys["rsa-1"], keys["rsa-2"]
    signing = [old]  # the key the provider signs new tokens with
    answers: list[int] = []
    stop = threading.Event()

    def buyers(client: httpx.Client, first: int) -> None:
        n = first
        while not stop.is_set():
            token = signing[0].token(f"b-{n}")
            answers.append(order(client, token, f"b-{n}").status_code)
            n += 1

    with (
        serving_jwks(old) as jwks,
        serve(sqlite_database, jwks, keys, tmp_path, unknown_kid_seconds=0.5) as client,
    ):
        remembered = old.token("r-1")
        assert order(client, remembered, "r-1").status_code == 201
        threads = [
            threading.Thread(target=buyers, args=(client, 100_000 * (t + 1))) for t in range(4)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1)
        jwks.publish(old, new)  # the new key published first ...
        signing[0] = new  # ... then used to sign
        time.sleep(1)
        jwks.publish(new)  # the old one withdrawn
        time.sleep(1)
        stop.set()
        for thread in threads:
            thread.join()
        assert answers.count(201) == len(answers) > 40, sorted(set(answers))
        # A token the server verified with the withdrawn key is refused once its keys are
        # read again (every second here): remembered tokens too.
        deadline = time.monotonic() + 10
        while order(client, remembered, "r-1").status_code != 401:
            assert time.monotonic() < deadline, "the withdrawn key still verifies"
            time.sleep(0.2)
        assert order(client, new.token("r-2"), "r-2").status_code == 201
        report = client.get(f"/api/v1/launches/{SLUG}/report", headers=ADMIN).json()
        assert sum(report["orders"]["by_sku"].values()) == len(answers) + 2


def test_the_issuers_file_is_checked_when_the_server_starts(tmp_path: Path) -> None:
    good = """
[[issuer]]
name = "a"
iss = "https://a.example"
audience = "launchday"
jwks_url = "https://a.example/jwks.json"
"""
    (issuer,) = parse_issuers(good)
    assert (issuer.algorithms, issuer.customer_claim, issuer.leeway_seconds) == (
        ("RS256", "ES256", "EdDSA"),
        "sub",
        30.0,
    )
    mistakes = {
        'algorithms = ["HS256"]': "public-key",
        'algorithms = ["none"]': "public-key",
        'jwks_file = "/tmp/x.json"': "exactly one of jwks_url and jwks_file",
        "leeway_seconds = 3600": "leeway_seconds",
        'colour = "red"': "unknown field",
    }
    for line, message in mistakes.items():
        with pytest.raises(IssuerConfigError, match=message):
            parse_issuers(good + line + "\n")
    with pytest.raises(IssuerConfigError, match="same name"):
        parse_issuers(good + good.replace("a.example", "b.example"))
    path = tmp_path / "issuers.toml"
    path.write_text(good + 'algorithms = ["HS256"]\n')
    with pytest.raises(ConfigError, match="LAUNCHDAY_ISSUERS"):
        Settings.from_env({"LAUNCHDAY_ISSUERS": str(path)})
    path.write_text(good)
    assert Settings.from_env({"LAUNCHDAY_ISSUERS": str(path)}).issuers == (issuer,)
