"""The security service on its own: secrets, tokens, the verification cache, rate limits."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numguard.domain.phone import MalformedPhoneNumber
from numguard.errors import InvalidInput, NotFound, RateLimited, Unauthenticated
from numguard.services import auth
from numguard.services.auth import (
    ROLE_SCOPES,
    ClientRecord,
    ClientService,
    InvalidScope,
    MemoryClientStore,
    Principal,
    RateLimiter,
    Role,
    Scope,
    hash_secret,
    verify_secret,
)

KEY = b"k" * 32
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
TTL = 900
CARRIERS = {"CMCC", "CUCC"}


@pytest.fixture
def store() -> MemoryClientStore:
    return MemoryClientStore()


@pytest.fixture
def service(store: MemoryClientStore) -> ClientService:
    return ClientService(
        store, token_key=KEY, token_ttl_seconds=TTL, carrier_exists=CARRIERS.__contains__
    )


@pytest.fixture
def platform(service: ClientService) -> ClientRecord:
    record, _ = service.add_client("Bank of Examples", Role.PLATFORM, now=NOW)
    return record


def forge(claims: dict[str, Any], key: bytes = KEY, **headers: Any) -> str:
    """A token signed with *key*, with the claims a real one has unless overridden."""
    base: dict[str, Any] = {
        "iss": "numguard",
        "aud": "numguard-api",
        "sub": "ng_0123456789abcdef",
        "jti": "j1",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + TTL,
        "scope": Scope.CHECK,
        "role": "platform",
    }
    base.update(claims)
    payload = {k: v for k, v in base.items() if v is not None}
    return jwt.encode(payload, key, algorithm="HS256", headers=headers or None)


# secrets --------------------------------------------------------------------------------------


def test_secret_hash_is_salted_scrypt_and_never_contains_the_secret() -> None:
    secret = auth.new_client_secret()
    first, second = hash_secret(secret), hash_secret(secret)
    assert first != second  # a fresh salt each time
    scheme, n, r, p, salt, _ = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert secret not in first
    assert verify_secret(secret, first)
    assert verify_secret(secret, second)
    assert not verify_secret(secret + "x", first)


@pytest.mark.parametrize(
    "encoded",
    ["", "bcrypt$1$2$3$AA==$AA==", "scrypt$16384$8$1$not base64$AA==", "scrypt$x$8$1$AA==$AA=="],
)
def test_a_malformed_hash_verifies_nothing(encoded: str) -> None:
    assert not verify_secret("anything", encoded)


def test_add_client_returns_the_secret_once_and_stores_only_its_hash(
    service: ClientService, store: MemoryClientStore
) -> None:
    record, secret = service.add_client("Bank", "platform", now=NOW)
    assert record.client_id.startswith("ng_")
    assert len(record.client_id) == 19
    assert len(secret) >= 43
    stored = store.get_client(record.client_id)
    assert stored == record
    assert secret not in repr(stored)
    assert "secret_hash" not in repr(stored)
    assert secret not in stored.secret_hash
    assert verify_secret(secret, stored.secret_hash)


@pytest.mark.parametrize(
    ("role", "carrier", "scopes"),
    [
        (Role.CARRIER, "CMCC", {"lifecycle:write", "number-recycling:check"}),
        (Role.PLATFORM, None, {"number-recycling:check"}),
        (Role.ADMIN, None, {"lifecycle:write", "number-recycling:check", "admin"}),
    ],
)
def test_each_role_gets_its_default_scopes(
    service: ClientService, role: Role, carrier: str | None, scopes: set[str]
) -> None:
    record, _ = service.add_client("x", role, carrier=carrier, now=NOW)
    assert record.scopes == scopes == ROLE_SCOPES[role]
    assert record.carrier == carrier


def test_a_carrier_client_needs_a_registered_carrier(service: ClientService) -> None:
    with pytest.raises(InvalidInput, match="needs"):
        service.add_client("Mobile", Role.CARRIER, now=NOW)
    with pytest.raises(InvalidInput, match="not registered"):
        service.add_client("Mobile", Role.CARRIER, carrier="NOPE", now=NOW)
    record, _ = service.add_client("Mobile", Role.CARRIER, carrier="cmcc", now=NOW)
    assert record.carrier == "CMCC"


@pytest.mark.parametrize("role", [Role.PLATFORM, Role.ADMIN])
def test_platform_and_admin_clients_belong_to_no_carrier(
    service: ClientService, role: Role
) -> None:
    with pytest.raises(InvalidInput, match="cannot belong"):
        service.add_client("x", role, carrier="CMCC", now=NOW)


def test_a_client_cannot_get_scopes_beyond_its_role(service: ClientService) -> None:
    with pytest.raises(InvalidScope) as caught:
        service.add_client("x", Role.PLATFORM, scopes="number-recycling:check admin", now=NOW)
    assert caught.value.code == "invalid_scope"
    with pytest.raises(InvalidScope, match="unknown"):
        service.add_client("x", Role.ADMIN, scopes=["root"], now=NOW)
    record, _ = service.add_client("x", Role.ADMIN, scopes=["admin"], now=NOW)
    assert record.scopes == {"admin"}


@pytest.mark.parametrize("bad", [{"role": "root"}, {"name": "  "}, {"rate_per_second": 0}])
def test_add_client_refuses_bad_input(service: ClientService, bad: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"name": "x", "role": "platform", "now": NOW} | bad
    with pytest.raises(InvalidInput):
        service.add_client(**arguments)


def test_authenticate_accepts_the_right_secret(service: ClientService) -> None:
    record, secret = service.add_client("Bank", Role.PLATFORM, now=NOW)
    assert service.authenticate(record.client_id, secret) == record


def test_authentication_failures_all_look_the_same(service: ClientService) -> None:
    record, secret = service.add_client("Bank", Role.PLATFORM, now=NOW)
    other, other_secret = service.add_client("Shop", Role.PLATFORM, now=NOW)
    service.disable_client(other.client_id, NOW)
    messages = set()
    for client_id, candidate in [
        (record.client_id, secret + "x"),
        ("ng_doesnotexist000", secret),
        ("", secret),
        (other.client_id, other_secret),
    ]:
        with pytest.raises(Unauthenticated) as caught:
            service.authenticate(client_id, candidate)
        messages.add(str(caught.value))
    assert messages == {"UNAUTHENTICATED: client authentication failed"}


def test_disable_an_unknown_client_is_not_found(service: ClientService) -> None:
    with pytest.raises(NotFound):
        service.disable_client("ng_nobody", NOW)


# tokens ---------------------------------------------------------------------------------------


def test_token_round_trip_gives_the_client_principal(service: ClientService) -> None:
    record, _ = service.add_client("Mobile", Role.CARRIER, carrier="CMCC", now=NOW)
    issued = service.issue_token(record, None, NOW)
    assert issued.token_type == "Bearer"
    assert issued.expires_in == TTL
    assert issued.scope == "lifecycle:write number-recycling:check"
    who = service.verify(issued.access_token, NOW + timedelta(seconds=10))
    assert who == Principal(
        client_id=record.client_id,
        role=Role.CARRIER,
        scopes=frozenset({"lifecycle:write", "number-recycling:check"}),
        carrier="CMCC",
        phone_number=None,
        token_id=who.token_id,
    )
    assert who.token_id
    assert who.has_scope(Scope.LIFECYCLE_WRITE)
    claims = jwt.decode(
        issued.access_token,
        KEY,
        algorithms=["HS256"],
        audience="numguard-api",
        options={"verify_exp": False, "verify_iat": False},  # the test's clock, not the wall's
    )
    assert claims["iss"] == "numguard"
    assert claims["exp"] - claims["iat"] == TTL


def test_each_token_has_its_own_id(service: ClientService, platform: ClientRecord) -> None:
    first = service.verify(service.issue_token(platform, None, NOW).access_token, NOW)
    second = service.verify(service.issue_token(platform, None, NOW).access_token, NOW)
    assert first.token_id != second.token_id


def test_requested_scopes_must_be_a_subset_of_the_clients(service: ClientService) -> None:
    record, _ = service.add_client("Mobile", Role.CARRIER, carrier="CMCC", now=NOW)
    narrow = service.issue_token(record, "number-recycling:check", NOW)
    assert narrow.scope == "number-recycling:check"
    assert service.verify(narrow.access_token, NOW).scopes == {"number-recycling:check"}
    assert service.issue_token(record, "  ", NOW).scope == "lifecycle:write number-recycling:check"
    with pytest.raises(InvalidScope) as caught:
        service.issue_token(record, "number-recycling:check admin", NOW)
    assert caught.value.code == "invalid_scope"


def test_a_disabled_client_gets_no_token(service: ClientService, platform: ClientRecord) -> None:
    disabled = service.disable_client(platform.client_id, NOW)
    with pytest.raises(Unauthenticated):
        service.issue_token(disabled, None, NOW)


def test_an_expired_token_is_rejected_with_a_message_saying_so(
    service: ClientService, platform: ClientRecord
) -> None:
    token = service.issue_token(platform, None, NOW).access_token
    service.verify(token, NOW + timedelta(seconds=TTL - 1))
    with pytest.raises(Unauthenticated) as caught:
        service.verify(token, NOW + timedelta(seconds=TTL))  # no leeway
    assert caught.value.code == "UNAUTHENTICATED"
    assert "expired" in caught.value.message


def test_an_expired_token_is_rejected_without_the_cache_too(service: ClientService) -> None:
    with pytest.raises(Unauthenticated, match="expired"):
        service.verify(forge({"sub": "cli"}), NOW + timedelta(seconds=TTL))


def test_the_cache_honours_expiry(
    service: ClientService, platform: ClientRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = service.issue_token(platform, None, NOW).access_token
    decodes = count_decodes(monkeypatch)
    service.verify(token, NOW)
    service.verify(token, NOW + timedelta(seconds=TTL - 1))
    assert decodes == [token]  # the second call was a cache hit
    with pytest.raises(Unauthenticated, match="expired"):
        service.verify(token, NOW + timedelta(seconds=TTL))
    with pytest.raises(Unauthenticated, match="expired"):
        service.verify(token, NOW + timedelta(seconds=TTL))


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every token that really goes through signature verification."""
    seen: list[str] = []
    real = jwt.decode

    def spy(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", spy)
    return seen


def test_the_cache_is_bounded_and_evicts_the_oldest(
    store: MemoryClientStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = ClientService(
        store, token_key=KEY, token_ttl_seconds=TTL, carrier_exists=bool, cache_size=2
    )
    record, _ = small.add_client("Bank", Role.PLATFORM, now=NOW)
    a, b, c = (small.issue_token(record, None, NOW).access_token for _ in range(3))
    decodes = count_decodes(monkeypatch)
    for token in (a, b, c, c, b, a):
        small.verify(token, NOW)
    assert decodes == [a, b, c, a]  # a was evicted by c; b and c were still cached


def test_a_disabled_client_s_tokens_stop_at_once_in_this_process(
    service: ClientService, platform: ClientRecord
) -> None:
    token = service.issue_token(platform, None, NOW).access_token
    service.verify(token, NOW)
    service.disable_client(platform.client_id, NOW + timedelta(seconds=1))
    with pytest.raises(Unauthenticated):
        service.verify(token, NOW + timedelta(seconds=2))


def test_a_client_disabled_elsewhere_is_refused_within_the_recheck_interval(
    service: ClientService, store: MemoryClientStore, platform: ClientRecord
) -> None:
    token = service.issue_token(platform, None, NOW).access_token
    service.verify(token, NOW)
    reads = store.reads
    store.disable_client(platform.client_id, NOW)  # another process, straight to storage
    service.verify(token, NOW + timedelta(seconds=29))  # still trusted: no storage read yet
    assert store.reads == reads
    with pytest.raises(Unauthenticated):
        service.verify(token, NOW + timedelta(seconds=service.client_recheck_seconds))
    assert service.client_recheck_seconds < TTL


def test_a_token_of_a_client_that_does_not_exist_is_refused(service: ClientService) -> None:
    with pytest.raises(Unauthenticated):
        service.verify(forge({"sub": "ng_0000000000000000"}), NOW)


def test_an_unreadable_store_keeps_a_known_client_and_refuses_an_unknown_one(
    service: ClientService,
    store: MemoryClientStore,
    platform: ClientRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = service.issue_token(platform, None, NOW).access_token
    service.verify(token, NOW)

    def down(client_id: str) -> None:
        raise OSError("database is away")

    monkeypatch.setattr(store, "get_client", down)
    later = NOW + timedelta(seconds=60)
    assert service.verify(token, later).client_id == platform.client_id
    with pytest.raises(OSError, match="away"):
        service.verify(forge({"sub": "ng_somebodyelse00"}), later)


def tamper(token: str, **changes: Any) -> str:
    """Change payload claims of *token* but keep its header and signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def resign(token: str) -> str:
    """Change the first character of the signature (all of its bits are significant)."""
    header, payload, signature = token.split(".")
    first = "A" if signature[0] != "A" else "B"
    return f"{header}.{payload}.{first}{signature[1:]}"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda t: tamper(t, scope="admin number-recycling:check"), id="scope"),
        pytest.param(lambda t: tamper(t, exp=4_000_000_000), id="exp"),
        pytest.param(resign, id="signature"),
        pytest.param(lambda t: t + "x", id="appended"),
        pytest.param(lambda t: "not-a-jwt", id="garbage"),
        pytest.param(lambda t: "", id="empty"),
    ],
)
def test_a_tampered_token_is_rejected(
    service: ClientService, platform: ClientRecord, make: Any
) -> None:
    token = service.issue_token(platform, None, NOW).access_token
    service.verify(token, NOW)  # the genuine one is cached; the altered one must not hit it
    with pytest.raises(Unauthenticated) as caught:
        service.verify(make(token), NOW)
    assert "expired" not in caught.value.message


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(forge({"sub": "cli", "aud": "someone-else"}), id="audience"),
        pytest.param(forge({"sub": "cli", "aud": None}), id="no-audience"),
        pytest.param(forge({"sub": "cli", "iss": "evil"}), id="issuer"),
        pytest.param(forge({"sub": "cli"}, key=b"x" * 32), id="other-key"),
        pytest.param(forge({"sub": "cli", "jti": None}), id="no-jti"),
        pytest.param(forge({"sub": "cli", "scope": None}), id="no-scope"),
        pytest.param(forge({"sub": "cli", "exp": None}), id="no-exp"),
        pytest.param(forge({"sub": "cli", "iat": None}), id="no-iat"),
        pytest.param(forge({"sub": None}), id="no-sub"),
        pytest.param(forge({"sub": "cli", "role": "root"}), id="role"),
        pytest.param(forge({"sub": "cli", "exp": "soon"}), id="exp-type"),
        pytest.param(forge({"sub": "cli", "phone_number": "12345"}), id="phone"),
        pytest.param(forge({"sub": "cli", "iat": int(NOW.timestamp()) + 5}), id="future"),
        pytest.param(
            jwt.encode({"sub": "cli"}, KEY + KEY, algorithm="HS384"),
            id="algorithm",
        ),
    ],
)
def test_a_token_that_is_not_ours_is_rejected(service: ClientService, token: str) -> None:
    with pytest.raises(Unauthenticated):
        service.verify(token, NOW)


def test_an_unsigned_token_is_rejected(service: ClientService) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = forge({"sub": "cli"}).split(".")[1]
    with pytest.raises(Unauthenticated):
        service.verify(f"{header}.{body}.", NOW)


def test_time_must_be_timezone_aware(service: ClientService) -> None:
    with pytest.raises(ValueError, match="timezone"):
        service.verify(forge({"sub": "cli"}), NOW.replace(tzinfo=None))


# phone-bound tokens ---------------------------------------------------------------------------


def test_a_phone_bound_token_carries_the_phone_number(service: ClientService) -> None:
    issued = service.issue_phone_token(
        "+8613800138000", "number-recycling:check", ttl_seconds=60, now=NOW
    )
    assert issued.expires_in == 60
    who = service.verify(issued.access_token, NOW)
    assert who.phone_number == "+8613800138000"
    assert who.client_id == "cli"
    assert who.role is Role.PLATFORM
    assert who.scopes == {Scope.CHECK}
    with pytest.raises(Unauthenticated, match="expired"):
        service.verify(issued.access_token, NOW + timedelta(seconds=60))


def test_a_phone_bound_token_from_a_client_takes_its_role_and_limits(
    service: ClientService,
) -> None:
    record, _ = service.add_client("Mobile", Role.CARRIER, carrier="CMCC", now=NOW)
    issued = service.issue_phone_token(
        "+8613800138000", [Scope.CHECK], issued_by=record.client_id, now=NOW
    )
    assert issued.expires_in == TTL
    who = service.verify(issued.access_token, NOW)
    assert (who.client_id, who.role, who.carrier) == (record.client_id, Role.CARRIER, "CMCC")
    with pytest.raises(InvalidScope):
        service.issue_phone_token("+8613800138000", "admin", issued_by=record.client_id, now=NOW)
    with pytest.raises(NotFound):
        service.issue_phone_token("+8613800138000", Scope.CHECK, issued_by="ng_nobody", now=NOW)


@pytest.mark.parametrize("scope", ["lifecycle:write", "admin", "root", ""])
def test_the_cli_issues_phone_bound_tokens_for_checks_only(
    service: ClientService, scope: str
) -> None:
    with pytest.raises(InvalidScope):
        service.issue_phone_token("+8613800138000", scope, now=NOW)


@pytest.mark.parametrize("number", ["13800138000", "+86 138 0013 8000", "+0123456", ""])
def test_a_phone_bound_token_needs_an_e164_number(service: ClientService, number: str) -> None:
    with pytest.raises(MalformedPhoneNumber):
        service.issue_phone_token(number, Scope.CHECK, now=NOW)


# rate limits ----------------------------------------------------------------------------------


def test_the_burst_passes_then_the_limiter_refuses_with_retry_after() -> None:
    limiter = RateLimiter(10, 5)
    for _ in range(5):
        limiter.check("a", 100.0)
    with pytest.raises(RateLimited) as caught:
        limiter.check("a", 100.0)
    assert caught.value.retry_after == pytest.approx(0.1)
    assert caught.value.code == "TOO_MANY_REQUESTS"
    limiter.check("b", 100.0)  # buckets are per client


def test_the_bucket_refills_at_the_rate() -> None:
    limiter = RateLimiter(10, 5)
    for _ in range(5):
        limiter.check("a", 0.0)
    limiter.check("a", 0.1)  # one token back after 0.1 s
    with pytest.raises(RateLimited) as caught:
        limiter.check("a", 0.15)
    assert caught.value.retry_after == pytest.approx(0.05)
    for _ in range(5):  # never more than the burst, however long the pause
        limiter.check("a", 1000.0)
    with pytest.raises(RateLimited):
        limiter.check("a", 1000.0)


def test_a_client_s_own_rate_replaces_the_default() -> None:
    limiter = RateLimiter(10, 20, rate_of={"slow": 1}.get)
    for _ in range(2):  # the burst keeps the default 2 s of traffic
        limiter.check("slow", 0.0)
    with pytest.raises(RateLimited) as caught:
        limiter.check("slow", 0.0)
    assert caught.value.retry_after == pytest.approx(1.0)
    for _ in range(20):
        limiter.check("fast", 0.0)


def test_a_changed_rate_is_picked_up_after_the_refresh_interval() -> None:
    rates = {"a": 1}
    limiter = RateLimiter(10, 10, rate_of=rates.get, refresh_seconds=60)
    limiter.check("a", 0.0)
    rates["a"] = 1000
    with pytest.raises(RateLimited):
        limiter.check("a", 0.0)
    limiter.check("a", 60.0)
    for _ in range(500):
        limiter.check("a", 60.0)


def test_cost_charges_per_item_and_a_big_batch_leaves_debt() -> None:
    limiter = RateLimiter(100, 200)
    limiter.check("a", 0.0, cost=150)
    with pytest.raises(RateLimited) as caught:
        limiter.check("a", 0.0, cost=100)
    assert caught.value.retry_after == pytest.approx(0.5)
    limiter.check("a", 2.0, cost=10_000)  # bigger than the burst: allowed on a full bucket
    with pytest.raises(RateLimited) as caught:
        limiter.check("a", 3.0)
    assert caught.value.retry_after == pytest.approx((9_800 - 100 + 1) / 100)


def test_a_rate_of_zero_means_no_limit() -> None:
    limiter = RateLimiter(0, 0)
    for _ in range(10_000):
        limiter.check("a", 0.0)


def test_the_limiter_is_thread_safe() -> None:
    limiter = RateLimiter(1, 1_000)
    passed: list[int] = []

    def spend() -> None:
        ok = 0
        for _ in range(500):
            try:
                limiter.check("a", 0.0)
                ok += 1
            except RateLimited:
                pass
        passed.append(ok)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(passed) == 1_000


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 2, allow_nan=False), st.floats(0, 8, allow_nan=False)),
        max_size=60,
    )
)
def test_what_passes_never_exceeds_burst_plus_refill(steps: list[tuple[float, float]]) -> None:
    rate, burst = 3.0, 5.0
    limiter = RateLimiter(rate, burst)
    now, spent, overdraft = 0.0, 0.0, 0.0
    for pause, cost in steps:
        now += pause
        try:
            limiter.check("a", now, cost=cost)
        except RateLimited as refused:
            retry_after = refused.retry_after
            assert retry_after > 0
        else:
            spent += cost
            overdraft = max(overdraft, cost - burst)
        # only a batch larger than the burst overdraws, and only by its excess
        assert spent <= burst + rate * now + overdraft + 1e-6
