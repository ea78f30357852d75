"""Who may call the API: clients, their secrets, access tokens, and per-client rate limits.

Framework-free: the web face turns a bearer token into a :class:`Principal` with
:meth:`ClientService.verify` and charges the caller with :meth:`RateLimiter.check`; the CLI adds
and disables clients and issues phone-bound tokens. Time is always an argument.

Choices worth knowing:

- **Secrets** are ``secrets.token_urlsafe(32)`` and are stored only as a salted scrypt hash
  (``scrypt$n$r$p$salt_b64$hash_b64``). The plain secret is returned once, by
  :meth:`ClientService.add_client`, and never logged.
- **No enumeration**: an unknown client id, a wrong secret and a disabled client all raise the
  same :class:`~numguard.errors.Unauthenticated`, and an unknown id still pays for one scrypt
  so the timing does not tell them apart either.
- **Tokens** are HS256 JWTs (``iss`` ``numguard``, ``aud`` ``numguard-api``) carrying ``sub``
  (client id), ``jti``, ``iat``, ``exp``, ``scope``, ``role`` and, when there is one,
  ``carrier``, ``platform`` and ``phone_number``. Expiry is checked against the ``now``
  passed in, with no leeway (PyJWT's own clock is switched off).
- **Hot path**: verified tokens are kept in a bounded cache keyed by the raw token (oldest
  evicted first), so a repeated token costs two dict lookups and a float comparison. A hit still
  honours the token's ``exp``. Only tokens that verified are cached, so garbage cannot fill it.
- **Disabled clients**: every token is tied to its client's current state through a small
  per-client cache re-read from storage at most every ``client_recheck_seconds`` (30 s by
  default). A client disabled through this service stops working at once in this process; one
  disabled elsewhere (another process, the CLI) stops working within ``client_recheck_seconds``,
  well inside the token TTL. If storage cannot be read at a recheck, the last known state is kept
  for one more interval (fail-open for a client known to be active, logged); a client never seen
  before fails closed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Protocol

import jwt

from numguard.domain.phone import MalformedPhoneNumber, is_e164_shape
from numguard.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthenticated
from numguard.settings import Settings

log = logging.getLogger("numguard.auth")

ISSUER: Final = "numguard"
"""The ``iss`` claim of every token."""

AUDIENCE: Final = "numguard-api"
"""The ``aud`` claim of every token."""

ALGORITHM: Final = "HS256"
"""The only signing algorithm accepted."""

CLI_ISSUER: Final = "cli"
"""The ``issued_by`` of phone-bound tokens made by the operator on the command line."""

DEFAULT_CACHE_SIZE: Final = 100_000
"""Verified tokens kept by default."""

BEARER: Final = "Bearer"
"""The ``token_type`` of every access token (RFC 6750)."""

_UNAUTHENTICATED_CLIENT = "client authentication failed"
_NOT_VALID = "the access token is not valid"
_EXPIRED = "the access token has expired; request a new one"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "scope", "iss", "aud"]
_NAME_MAX = 200


class Role(StrEnum):
    """What kind of party a client is."""

    CARRIER = "carrier"
    """A carrier reporting lifecycle events for its own numbers."""
    PLATFORM = "platform"
    """A platform (bank, app) asking recycling checks."""
    ADMIN = "admin"
    """An operator of the registry."""


class Scope:
    """The OAuth scopes the API knows."""

    CHECK: Final = "number-recycling:check"
    """Ask recycling checks (CAMARA Number Recycling and the native check API)."""
    LIFECYCLE_WRITE: Final = "lifecycle:write"
    """Report lifecycle events."""
    ADMIN: Final = "admin"
    """Operate the registry: carriers, clients."""

    ALL: Final = frozenset({CHECK, LIFECYCLE_WRITE, ADMIN})
    """Every known scope."""


_ROLE_VALUES = frozenset(r.value for r in Role)

ROLE_SCOPES: Final[dict[Role, frozenset[str]]] = {
    Role.CARRIER: frozenset({Scope.LIFECYCLE_WRITE, Scope.CHECK}),
    Role.PLATFORM: frozenset({Scope.CHECK}),
    Role.ADMIN: Scope.ALL,
}
"""The scopes a client of each role gets by default, and the most it may be given."""


class InvalidScope(InvalidInput):
    """A scope is unknown, or more than the client (or role) is allowed."""

    code = "invalid_scope"


def parse_scopes(scopes: str | Iterable[str] | None) -> frozenset[str]:
    """A scope set from a space-separated string or an iterable of names (None is empty)."""
    if scopes is None:
        return frozenset()
    if isinstance(scopes, str):
        return frozenset(scopes.split())
    return frozenset(s for item in scopes for s in item.split())


def format_scopes(scopes: Iterable[str]) -> str:
    """The space-separated form of *scopes*, sorted so equal sets print the same."""
    return " ".join(sorted(scopes))


def _epoch(now: datetime) -> float:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return now.timestamp()


# secrets --------------------------------------------------------------------------------------

SCRYPT_N: Final = 2**14
"""scrypt CPU/memory cost."""
SCRYPT_R: Final = 8
"""scrypt block size."""
SCRYPT_P: Final = 1
"""scrypt parallelism."""
_SCRYPT_DKLEN = 32
_SCRYPT_MAXMEM = 64 * 1024 * 1024


def new_client_id() -> str:
    """A fresh client id: ``ng_`` and 16 url-safe characters (96 random bits)."""
    return "ng_" + secrets.token_urlsafe(12)


def new_client_secret() -> str:
    """A fresh client secret (256 random bits, url-safe)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """The salted scrypt hash of *secret*: ``scrypt$n$r$p$salt_b64$hash_b64``."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(
        secret.encode(),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
        dklen=_SCRYPT_DKLEN,
    )
    salt_b64 = base64.b64encode(salt).decode()
    hash_b64 = base64.b64encode(digest).decode()
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt_b64}${hash_b64}"


def verify_secret(secret: str, encoded: str) -> bool:
    """Whether *secret* matches the *encoded* hash (constant-time compare; malformed is False)."""
    try:
        scheme, n_text, r_text, p_text, salt_b64, hash_b64 = encoded.split("$")
        if scheme != "scrypt":
            return False
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(hash_b64, validate=True)
        # A stored hash is ours, but refuse parameters that would exhaust the machine anyway.
        if not (1 < n <= 2**20 and 0 < r <= 32 and 0 < p <= 16 and expected):
            return False
        actual = hashlib.scrypt(
            secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=len(expected)
        )
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_secret("numguard-dummy-secret", salt=b"\x00" * 16)
"""Checked against when the client id is unknown, so that costs as much as a wrong secret."""


# clients --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A registered API client as stored (the secret only as its hash)."""

    client_id: str
    name: str
    role: Role
    carrier: str | None
    secret_hash: str = field(repr=False)
    scopes: frozenset[str]
    rate_per_second: int | None
    created_at: datetime
    disabled_at: datetime | None = None
    platform: str | None = None
    """The platform a platform client reports bindings for (it sees only that platform's)."""

    @property
    def active(self) -> bool:
        """Whether the client may authenticate and its tokens are honoured."""
        return self.disabled_at is None


class ClientStore(Protocol):
    """Storage of API clients."""

    def add_client(self, record: ClientRecord) -> None:
        """Store a new client (its id is unique)."""
        ...

    def get_client(self, client_id: str) -> ClientRecord | None:
        """The client with this id, or None."""
        ...

    def list_clients(self) -> list[ClientRecord]:
        """Every client, oldest first."""
        ...

    def disable_client(self, client_id: str, now: datetime) -> ClientRecord | None:
        """Mark the client disabled at *now* (kept if already disabled); None if unknown."""
        ...


class MemoryClientStore:
    """A :class:`ClientStore` in a dict: for tests and for wiring without a database."""

    def __init__(self) -> None:
        self._clients: dict[str, ClientRecord] = {}
        self.reads = 0
        """How many times :meth:`get_client` was called (tests use it to see the cache work)."""

    def add_client(self, record: ClientRecord) -> None:
        """Store a new client; an existing id is an error."""
        if record.client_id in self._clients:
            raise Conflict(f"client {record.client_id} exists")
        self._clients[record.client_id] = record

    def get_client(self, client_id: str) -> ClientRecord | None:
        """The client with this id, or None."""
        self.reads += 1
        return self._clients.get(client_id)

    def list_clients(self) -> list[ClientRecord]:
        """Every client, oldest first."""
        return sorted(self._clients.values(), key=lambda c: (c.created_at, c.client_id))

    def disable_client(self, client_id: str, now: datetime) -> ClientRecord | None:
        """Mark the client disabled at *now* (kept if already disabled); None if unknown."""
        record = self._clients.get(client_id)
        if record is None:
            return None
        if record.disabled_at is None:
            record = replace(record, disabled_at=now)
            self._clients[client_id] = record
        return record


# tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as an access token says."""

    client_id: str
    role: Role
    scopes: frozenset[str]
    carrier: str | None
    phone_number: str | None
    """Set when the token is bound to one phone number (the caller may ask about no other)."""
    token_id: str
    """The token's ``jti``."""
    platform: str | None = None
    """The platform whose bindings the caller may read and change (platform clients only)."""

    def has_scope(self, scope: str) -> bool:
        """Whether the token grants *scope*."""
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token as the OAuth token endpoint returns it (RFC 6749 §5.1)."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int
    scope: str


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    expires_at: float


@dataclass(slots=True)
class _ClientState:
    record: ClientRecord | None
    checked_at: float


class ClientService:
    """Clients and their credentials: add, authenticate, issue and verify access tokens."""

    def __init__(
        self,
        store: ClientStore,
        *,
        token_key: bytes,
        token_ttl_seconds: int,
        carrier_exists: Callable[[str], bool],
        cache_size: int = DEFAULT_CACHE_SIZE,
        client_recheck_seconds: float = 30.0,
        platform_exists: Callable[[str], bool] | None = None,
    ) -> None:
        if len(token_key) < 32:
            raise ValueError("the token key must be at least 32 bytes")
        if token_ttl_seconds <= 0:
            raise ValueError("the token TTL must be positive")
        if cache_size < 1:
            raise ValueError("the token cache needs room for at least one token")
        self.store = store
        self.token_ttl_seconds = token_ttl_seconds
        self.client_recheck_seconds = client_recheck_seconds
        self._key = token_key
        self._carrier_exists = carrier_exists
        self._platform_exists = platform_exists
        self._cache_size = cache_size
        self._verified: dict[str, _Verified] = {}
        self._clients: dict[str, _ClientState] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        store: ClientStore,
        settings: Settings,
        carrier_exists: Callable[[str], bool],
        platform_exists: Callable[[str], bool] | None = None,
    ) -> ClientService:
        """A service with the signing key and token TTL of *settings*."""
        return cls(
            store,
            token_key=settings.token_key,
            token_ttl_seconds=settings.token_ttl_seconds,
            carrier_exists=carrier_exists,
            platform_exists=platform_exists,
        )

    # clients ----------------------------------------------------------------------------------

    def add_client(
        self,
        name: str,
        role: Role | str,
        *,
        carrier: str | None = None,
        scopes: str | Iterable[str] | None = None,
        rate_per_second: int | None = None,
        platform: str | None = None,
        now: datetime,
    ) -> tuple[ClientRecord, str]:
        """Register a client; returns it and its plain secret, which is never shown again.

        A carrier client needs a registered *carrier*; platform and admin clients have none.
        A platform client may belong to a registered *platform*: its tokens then carry the
        ``platform`` claim, and it may report and read that platform's bindings only.
        *scopes* default to the role's (:data:`ROLE_SCOPES`) and may not exceed them.
        """
        _epoch(now)
        name = name.strip()
        if not name or len(name) > _NAME_MAX:
            raise InvalidInput(f"a client needs a name of 1 to {_NAME_MAX} characters")
        try:
            role = Role(role)
        except ValueError as exc:
            roles = ", ".join(r.value for r in Role)
            raise InvalidInput(f"role must be one of {roles}, not {role!r}") from exc
        if role is Role.CARRIER:
            if not carrier or not carrier.strip():
                raise InvalidInput("a carrier client needs --carrier (a registered carrier code)")
            carrier = carrier.strip().upper()
            if not self._carrier_exists(carrier):
                raise InvalidInput(f"carrier {carrier} is not registered", code="UNKNOWN_CARRIER")
        elif carrier:
            raise InvalidInput(f"a {role.value} client cannot belong to a carrier")
        else:
            carrier = None
        if platform is not None and platform.strip():
            if role is not Role.PLATFORM:
                raise InvalidInput(f"a {role.value} client cannot belong to a platform")
            platform = platform.strip().upper()
            if self._platform_exists is None or not self._platform_exists(platform):
                raise InvalidInput(
                    f"platform {platform} is not registered", code="UNKNOWN_PLATFORM"
                )
        else:
            platform = None
        granted = ROLE_SCOPES[role] if scopes is None else parse_scopes(scopes)
        if not granted:
            raise InvalidScope("a client needs at least one scope")
        unknown = granted - Scope.ALL
        if unknown:
            raise InvalidScope(f"unknown scope {sorted(unknown)[0]}")
        beyond = granted - ROLE_SCOPES[role]
        if beyond:
            raise InvalidScope(f"a {role.value} client cannot have the scope {sorted(beyond)[0]}")
        if rate_per_second is not None and rate_per_second <= 0:
            raise InvalidInput("rate per second must be a positive whole number")
        secret = new_client_secret()
        record = ClientRecord(
            client_id=new_client_id(),
            name=name,
            role=role,
            carrier=carrier,
            secret_hash=hash_secret(secret),
            scopes=granted,
            rate_per_second=rate_per_second,
            created_at=now,
            platform=platform,
        )
        self.store.add_client(record)
        log.info("client added", extra={"client_id": record.client_id, "role": role.value})
        return record, secret

    def get_client(self, client_id: str) -> ClientRecord:
        """The client with this id; NotFound if there is none."""
        record = self.store.get_client(client_id)
        if record is None:
            raise NotFound(f"no client {client_id}")
        return record

    def list_clients(self) -> list[ClientRecord]:
        """Every client, oldest first."""
        return self.store.list_clients()

    def disable_client(self, client_id: str, now: datetime) -> ClientRecord:
        """Disable a client: it can no longer get tokens, and its tokens stop working.

        In this process at once; in other processes within ``client_recheck_seconds``.
        """
        record = self.store.disable_client(client_id, now)
        if record is None:
            raise NotFound(f"no client {client_id}")
        self._clients[client_id] = _ClientState(record, _epoch(now))
        log.info("client disabled", extra={"client_id": client_id})
        return record

    def authenticate(self, client_id: str, client_secret: str) -> ClientRecord:
        """The client whose id and secret these are; one generic Unauthenticated otherwise."""
        record = self.store.get_client(client_id) if 0 < len(client_id) <= 64 else None
        if record is None:
            verify_secret(client_secret, _DUMMY_HASH)  # same cost as a wrong secret
            raise Unauthenticated(_UNAUTHENTICATED_CLIENT)
        if not verify_secret(client_secret, record.secret_hash) or not record.active:
            raise Unauthenticated(_UNAUTHENTICATED_CLIENT)
        return record

    def rate_of(self, client_id: str) -> int | None:
        """The client's own rate limit, if it has one (for :class:`RateLimiter`)."""
        state = self._clients.get(client_id)
        record = state.record if state is not None else self.store.get_client(client_id)
        return record.rate_per_second if record is not None else None

    # tokens -----------------------------------------------------------------------------------

    def issue_token(
        self, client: ClientRecord, requested_scopes: str | None, now: datetime
    ) -> IssuedToken:
        """An access token for an authenticated *client*.

        No *requested_scopes* (None or blank) means all of the client's scopes; otherwise they
        must be a subset of them, or :class:`InvalidScope` is raised.
        """
        if not client.active:
            raise Unauthenticated(_UNAUTHENTICATED_CLIENT)
        requested = parse_scopes(requested_scopes)
        if not requested:
            requested = client.scopes
        beyond = requested - client.scopes
        if beyond:
            raise InvalidScope(f"the client may not request the scope {sorted(beyond)[0]}")
        return self._issue(
            sub=client.client_id,
            role=client.role,
            scopes=requested,
            carrier=client.carrier,
            phone_number=None,
            ttl_seconds=self.token_ttl_seconds,
            now=now,
            platform=client.platform,
        )

    def issue_phone_token(
        self,
        phone_number: str,
        scopes: str | Iterable[str],
        *,
        issued_by: str = CLI_ISSUER,
        ttl_seconds: int | None = None,
        now: datetime,
    ) -> IssuedToken:
        """An access token bound to one phone number (claim ``phone_number``, E.164).

        Issued by the operator (*issued_by* :data:`CLI_ISSUER`: platform role, scope
        ``number-recycling:check`` only) or on behalf of an active client (its role, carrier
        and at most its scopes). *ttl_seconds* defaults to the configured token TTL.
        """
        if not is_e164_shape(phone_number):
            raise MalformedPhoneNumber(f"{phone_number!r} is not an E.164 phone number")
        ttl = self.token_ttl_seconds if ttl_seconds is None else ttl_seconds
        if ttl <= 0:
            raise InvalidInput("a token's lifetime must be positive")
        wanted = parse_scopes(scopes)
        if not wanted:
            raise InvalidScope("a phone-bound token needs at least one scope")
        unknown = wanted - Scope.ALL
        if unknown:
            raise InvalidScope(f"unknown scope {sorted(unknown)[0]}")
        platform: str | None = None
        if issued_by == CLI_ISSUER:
            role, carrier, allowed = Role.PLATFORM, None, ROLE_SCOPES[Role.PLATFORM]
        else:
            client = self.store.get_client(issued_by)
            if client is None or not client.active:
                raise NotFound(f"no active client {issued_by}")
            role, carrier, allowed = client.role, client.carrier, client.scopes
            platform = client.platform
        beyond = wanted - allowed
        if beyond:
            raise InvalidScope(f"{issued_by} may not grant the scope {sorted(beyond)[0]}")
        return self._issue(
            sub=issued_by,
            role=role,
            scopes=wanted,
            carrier=carrier,
            phone_number=phone_number,
            ttl_seconds=ttl,
            now=now,
            platform=platform,
        )

    def _issue(
        self,
        *,
        sub: str,
        role: Role,
        scopes: frozenset[str],
        carrier: str | None,
        phone_number: str | None,
        ttl_seconds: int,
        now: datetime,
        platform: str | None = None,
    ) -> IssuedToken:
        iat = int(_epoch(now))
        scope = format_scopes(scopes)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "client_id": sub,
            "jti": secrets.token_urlsafe(16),
            "iat": iat,
            "exp": iat + ttl_seconds,
            "scope": scope,
            "role": role.value,
        }
        if carrier is not None:
            claims["carrier"] = carrier
        if phone_number is not None:
            claims["phone_number"] = phone_number
        if platform is not None:
            claims["platform"] = platform
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        return IssuedToken(
            access_token=token, token_type=BEARER, expires_in=ttl_seconds, scope=scope
        )

    def verify(self, token: str, now: datetime) -> Principal:
        """The principal of a bearer *token*, or Unauthenticated (expired, forged, malformed).

        Cached: a token verified before costs two dict lookups, and its expiry and its client's
        state are still honoured on every call.
        """
        at = _epoch(now)
        hit = self._verified.get(token)
        if hit is not None:
            if at >= hit.expires_at:
                with self._lock:
                    self._verified.pop(token, None)
                raise Unauthenticated(_EXPIRED)
            self._require_active(hit.principal.client_id, at)
            return hit.principal
        verified = self._decode(token, at)
        self._require_active(verified.principal.client_id, at)
        with self._lock:  # every change to the cache holds the lock; lookups do not need it
            while len(self._verified) >= self._cache_size:
                del self._verified[next(iter(self._verified))]  # the oldest entry
            self._verified[token] = verified
        return verified.principal

    def _decode(self, token: str, at: float) -> _Verified:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=0,
                options={
                    "require": _REQUIRED_CLAIMS,
                    # Time is checked below against the ``now`` passed in, not PyJWT's clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(_NOT_VALID) from exc
        exp, iat = claims["exp"], claims["iat"]
        sub, jti, scope = claims["sub"], claims["jti"], claims["scope"]
        carrier, phone = claims.get("carrier"), claims.get("phone_number")
        platform = claims.get("platform")
        if not (
            _is_number(exp)
            and _is_number(iat)
            and isinstance(sub, str)
            and sub
            and isinstance(jti, str)
            and isinstance(scope, str)
            and (carrier is None or isinstance(carrier, str))
            and (platform is None or isinstance(platform, str))
            and (phone is None or (isinstance(phone, str) and is_e164_shape(phone)))
        ):
            raise Unauthenticated(_NOT_VALID)
        role_claim = claims.get("role")
        if role_claim not in _ROLE_VALUES:
            raise Unauthenticated(_NOT_VALID)
        role = Role(role_claim)
        if at >= exp:
            raise Unauthenticated(_EXPIRED)
        if iat > at:
            raise Unauthenticated("the access token is not valid yet (issued in the future)")
        principal = Principal(
            client_id=sub,
            role=role,
            scopes=parse_scopes(scope),
            carrier=carrier,
            phone_number=phone,
            token_id=jti,
            platform=platform,
        )
        return _Verified(principal, float(exp))

    def _require_active(self, client_id: str, at: float) -> None:
        """Refuse tokens of a client that is disabled or gone (CLI tokens have no client)."""
        if client_id == CLI_ISSUER:
            return
        state = self._clients.get(client_id)
        if state is None or at - state.checked_at >= self.client_recheck_seconds:
            state = self._recheck(client_id, state, at)
        if state.record is None or not state.record.active:
            raise Unauthenticated(_NOT_VALID)

    def _recheck(self, client_id: str, known: _ClientState | None, at: float) -> _ClientState:
        try:
            record = self.store.get_client(client_id)
        except Exception:
            if known is None:
                raise  # never seen: fail closed
            log.warning("client store unreadable; keeping the last known state", exc_info=True)
            record = known.record
        state = _ClientState(record, at)
        self._clients[client_id] = state
        return state


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# rate limits ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Bucket:
    rate: float
    burst: float
    tokens: float
    updated: float
    limits_read_at: float


class RateLimiter:
    """A token bucket per client: *rate_per_second* refill, up to *burst* saved up.

    A client's own ``rate_per_second`` (read through *rate_of*, re-read every
    *refresh_seconds*) replaces the default rate; its burst keeps the default ratio
    (``burst / rate`` seconds of traffic). A rate of 0 or less means no limit.

    ``cost`` is what one call spends. Callers choose the unit: 1 per request (the default), or
    the item count of a bulk request to charge per item. A call costing more than the burst is
    let through when the bucket is full and leaves it in debt, so later calls wait until the
    debt is repaid: a large batch is never refused forever, and still pays in full.
    Thread-safe (one lock; the critical section is a few float operations).
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: float,
        *,
        rate_of: Callable[[str], float | None] | None = None,
        refresh_seconds: float = 60.0,
    ) -> None:
        self.rate_per_second = rate_per_second
        self.burst = max(burst, 1.0)
        self.refresh_seconds = refresh_seconds
        self._rate_of = rate_of
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, rate_of: Callable[[str], float | None] | None = None
    ) -> RateLimiter:
        """A limiter with the default rate and burst of *settings*."""
        return cls(settings.rate_limit_per_second, settings.rate_limit_burst, rate_of=rate_of)

    def _limits(self, client_id: str) -> tuple[float, float]:
        """(rate, burst) for *client_id*: its own rate if it has one, else the default."""
        own = self._rate_of(client_id) if self._rate_of is not None else None
        if own is None:
            return self.rate_per_second, self.burst
        if own <= 0:
            return 0.0, 0.0
        seconds = self.burst / self.rate_per_second if self.rate_per_second > 0 else 1.0
        return float(own), max(own * seconds, 1.0)

    def check(self, client_id: str, now_monotonic: float, cost: float = 1.0) -> None:
        """Spend *cost* from the client's bucket, or raise RateLimited with ``retry_after``."""
        if cost < 0:
            raise ValueError("cost must not be negative")
        bucket = self._buckets.get(client_id)
        fresh: tuple[float, float] | None = None
        if bucket is None or now_monotonic - bucket.limits_read_at >= self.refresh_seconds:
            fresh = self._limits(client_id)  # outside the lock: it may read storage
        with self._lock:
            bucket = self._buckets.get(client_id)
            if bucket is None:
                rate, burst = fresh if fresh is not None else self._limits(client_id)
                bucket = _Bucket(rate, burst, burst, now_monotonic, now_monotonic)
                self._buckets[client_id] = bucket
            elif fresh is not None:
                bucket.rate, bucket.burst = fresh
                bucket.limits_read_at = now_monotonic
            if bucket.rate <= 0:
                return
            elapsed = now_monotonic - bucket.updated
            if elapsed > 0:
                bucket.tokens = min(bucket.burst, bucket.tokens + elapsed * bucket.rate)
                bucket.updated = now_monotonic
            needed = min(cost, bucket.burst)
            if bucket.tokens >= needed:
                bucket.tokens -= cost
                return
            retry_after = (needed - bucket.tokens) / bucket.rate
        raise RateLimited(
            f"rate limit of {bucket.rate:g} requests per second exceeded",
            retry_after=retry_after,
        )
