"""Settings, read from ``NUMGUARD_*`` environment variables (the README has the table)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from numguard.domain.aging import AgingPolicy
from numguard.errors import InvalidInput

DEFAULT_DATA_DIR = Path("var")


class SettingsError(InvalidInput):
    """A setting has a value that cannot be used."""

    code = "INVALID_SETTING"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with production-sensible defaults."""

    database_url: str
    secret_key: str
    default_region: str = "CN"
    aging: AgingPolicy = field(default_factory=AgingPolicy)
    token_ttl_seconds: int = 900
    rate_limit_per_second: float = 1000.0
    rate_limit_burst: float = 2000.0
    max_batch: int = 10_000
    index_refresh_seconds: float = 1.0
    audit_flush_seconds: float = 0.2
    log_level: str = "INFO"
    log_format: str = "json"
    lookup_code_ttl_seconds: int = 600
    lookup_max_attempts: int = 5
    lookup_interval_hours: float = 24.0
    lookup_lock_minutes: float = 60.0
    lookup_session_seconds: int = 900
    unbind_tracking_days: float = 30.0
    sms_gateway: str = "console"
    sms_file: str | None = None
    sms_http_url: str | None = None
    sms_http_auth_header: str | None = field(default=None, repr=False)
    unbind_deadline_working_days: int = 5
    plan_dormant_days: int = 365
    notify_reissue_days: int = 7
    webhook_timeout_seconds: float = 10.0
    webhook_retry_hours: float = 24.0
    webhook_backoff_seconds: float = 5.0
    webhook_backoff_max_seconds: float = 7200.0
    webhook_allow_private: bool = False
    worker_poll_seconds: float = 1.0
    serve_worker: bool = False
    event_source: str = "urn:numguard:registry"

    def derive_key(self, purpose: str) -> bytes:
        """A separate key per purpose (ID hashing, number hashing, token signing)."""
        return hmac.new(self.secret_key.encode(), purpose.encode(), hashlib.sha256).digest()

    @property
    def holder_key(self) -> bytes:
        """Key of the HMAC that replaces raw ID numbers."""
        return self.derive_key("numguard/holder-id")

    @property
    def number_key(self) -> bytes:
        """Key of the HMAC that replaces phone numbers in the audit log."""
        return self.derive_key("numguard/audit-number")

    @property
    def lookup_key(self) -> bytes:
        """Key of the HMAC that replaces SMS codes of lookups."""
        return self.derive_key("numguard/lookup-code")

    @property
    def webhook_secret_key(self) -> bytes:
        """AES-256 key that encrypts webhook signing secrets at rest."""
        return self.derive_key("numguard/webhook-secrets")

    @property
    def token_key(self) -> bytes:
        """Key that signs access tokens (HS256)."""
        return self.derive_key("numguard/jwt-hs256")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from exc
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


def _secret_from_file(data_dir: Path) -> str:
    """The local secret for a self-hosted single machine, made on first use (mode 0600)."""
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (or *env*)."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("NUMGUARD_DATA_DIR", str(DEFAULT_DATA_DIR)))
    url = env.get("NUMGUARD_DATABASE_URL") or f"sqlite:///{data_dir / 'numguard.db'}"
    secret = env.get("NUMGUARD_SECRET_KEY") or _secret_from_file(data_dir)
    if len(secret) < 32:
        raise SettingsError("NUMGUARD_SECRET_KEY must be at least 32 characters")
    try:
        aging = AgingPolicy.parse(
            env.get("NUMGUARD_AGING_DAYS", "CN=90,US=45,IN=90"),
            default_days=int(_number(env, "NUMGUARD_AGING_DEFAULT_DAYS", 90)),
        )
    except ValueError as exc:
        raise SettingsError(f"NUMGUARD_AGING_DAYS: {exc}") from exc
    log_format = env.get("NUMGUARD_LOG_FORMAT", "json")
    if log_format not in ("json", "console"):
        raise SettingsError("NUMGUARD_LOG_FORMAT must be json or console")
    sms_gateway = env.get("NUMGUARD_SMS_GATEWAY", "console")
    if sms_gateway not in ("console", "file", "http"):
        raise SettingsError("NUMGUARD_SMS_GATEWAY must be console, file or http")
    sms_file = env.get("NUMGUARD_SMS_FILE") or None
    if sms_gateway == "file" and sms_file is None:
        sms_file = str(data_dir / "sms.jsonl")
    sms_http_url = env.get("NUMGUARD_SMS_HTTP_URL") or None
    if sms_gateway == "http" and sms_http_url is None:
        raise SettingsError("NUMGUARD_SMS_GATEWAY=http needs NUMGUARD_SMS_HTTP_URL")
    return Settings(
        database_url=url,
        secret_key=secret,
        default_region=env.get("NUMGUARD_DEFAULT_REGION", "CN").upper(),
        aging=aging,
        token_ttl_seconds=int(_number(env, "NUMGUARD_TOKEN_TTL_SECONDS", 900)),
        rate_limit_per_second=_number(env, "NUMGUARD_RATE_LIMIT_PER_SECOND", 1000.0),
        rate_limit_burst=_number(env, "NUMGUARD_RATE_LIMIT_BURST", 2000.0),
        max_batch=int(_number(env, "NUMGUARD_MAX_BATCH", 10_000)),
        index_refresh_seconds=_number(env, "NUMGUARD_INDEX_REFRESH_SECONDS", 1.0),
        audit_flush_seconds=_number(env, "NUMGUARD_AUDIT_FLUSH_SECONDS", 0.2),
        log_level=env.get("NUMGUARD_LOG_LEVEL", "INFO").upper(),
        log_format=log_format,
        lookup_code_ttl_seconds=max(1, int(_number(env, "NUMGUARD_LOOKUP_CODE_TTL_SECONDS", 600))),
        lookup_max_attempts=max(1, int(_number(env, "NUMGUARD_LOOKUP_MAX_ATTEMPTS", 5))),
        lookup_interval_hours=max(0.0, _number(env, "NUMGUARD_LOOKUP_INTERVAL_HOURS", 24.0)),
        lookup_lock_minutes=max(0.0, _number(env, "NUMGUARD_LOOKUP_LOCK_MINUTES", 60.0)),
        unbind_tracking_days=max(0.0, _number(env, "NUMGUARD_UNBIND_TRACKING_DAYS", 30.0)),
        lookup_session_seconds=max(1, int(_number(env, "NUMGUARD_LOOKUP_SESSION_SECONDS", 900))),
        sms_gateway=sms_gateway,
        sms_file=sms_file,
        sms_http_url=sms_http_url,
        sms_http_auth_header=env.get("NUMGUARD_SMS_HTTP_AUTH_HEADER") or None,
        unbind_deadline_working_days=int(_number(env, "NUMGUARD_UNBIND_DEADLINE_WORKING_DAYS", 5)),
        plan_dormant_days=int(_number(env, "NUMGUARD_PLAN_DORMANT_DAYS", 365)),
        notify_reissue_days=int(_number(env, "NUMGUARD_NOTIFY_REISSUE_DAYS", 7)),
        webhook_timeout_seconds=max(0.1, _number(env, "NUMGUARD_WEBHOOK_TIMEOUT_SECONDS", 10.0)),
        webhook_retry_hours=_number(env, "NUMGUARD_WEBHOOK_RETRY_HOURS", 24.0),
        webhook_backoff_seconds=_number(env, "NUMGUARD_WEBHOOK_BACKOFF_SECONDS", 5.0),
        webhook_backoff_max_seconds=_number(env, "NUMGUARD_WEBHOOK_BACKOFF_MAX_SECONDS", 7200.0),
        webhook_allow_private=env.get("NUMGUARD_WEBHOOK_ALLOW_PRIVATE", "").lower()
        in ("1", "true", "yes"),
        worker_poll_seconds=max(0.01, _number(env, "NUMGUARD_WORKER_POLL_SECONDS", 1.0)),
        serve_worker=env.get("NUMGUARD_SERVE_WORKER", "").lower() in ("1", "true", "yes"),
        event_source=env.get("NUMGUARD_EVENT_SOURCE") or "urn:numguard:registry",
    )
