"""Read the app's settings from the environment (names as README.md "Settings" lists them)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from nlu.classifier import DEFAULT_MIN_CONFIDENCE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


@dataclass(frozen=True)
class Settings:
    """Hold every setting the app reads; tests pass overrides instead of env vars."""

    database_url: str = ""
    nlu_url: str = "http://127.0.0.1:5005"
    nlu_timeout: float = 2.0
    nlu_min_confidence: float = DEFAULT_MIN_CONFIDENCE
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_validate: bool = True
    twilio_sms_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str | None = None
    twilio_timeout: float = 10.0
    public_url: str | None = None
    secret_key: str = ""
    conversation_ttl_minutes: int = 60
    max_inbound_chars: int = 1600
    # Outbox sender: messages per second per channel (0 = no limit of ours), the lease
    # after which a row stuck in `sending` is checked with Twilio, retries and prices.
    outbox_rate_sms: float = 10.0
    outbox_rate_whatsapp: float = 20.0
    outbox_rate_sms_counts: str = "segments"  # or "messages" (see bot/outbound/ratelimit.py)
    outbox_lease_seconds: float = 120.0
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: float = 30.0
    outbox_batch: int = 50
    outbox_workers: int = 4
    sms_price_per_segment: float = 0.05
    whatsapp_price_per_message: float = 0.05
    # Approved WhatsApp template (ContentSid HX...) a staff reply to a hand-off uses outside
    # the 24-hour window; none: such replies are refused in the console.
    handoff_template_sid: str | None = None
    extra: dict = field(default_factory=dict)

    def with_overrides(self, overrides: dict | None) -> "Settings":
        """Return a copy with the given fields replaced; unknown keys go to `extra`."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        extra = dict(self.extra)
        values = {}
        for key, value in overrides.items():
            if key.lower() in known:
                values[key.lower()] = value
            else:
                extra[key] = value
        return replace(self, extra=extra, **values)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


def default_database_url() -> str:
    """Return the SQLite file under instance/ that `make run` uses by default."""
    return f"sqlite:///{INSTANCE_DIR / 'chaski.sqlite'}"


def load_secret_key() -> str:
    """Return SECRET_KEY, generating one into instance/ on first run."""
    path = INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(key)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return key


def from_env(env: dict | None = None) -> Settings:
    """Build Settings from environment variables."""
    env = os.environ if env is None else env
    get = lambda name: env.get(name) or None  # noqa: E731 - empty string means unset
    return Settings(
        database_url=get("DATABASE_URL") or default_database_url(),
        nlu_url=(get("NLU_URL") or "http://127.0.0.1:5005").rstrip("/"),
        nlu_timeout=float(get("NLU_TIMEOUT") or 2.0),
        twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
        twilio_validate=_flag(get("TWILIO_VALIDATE"), True),
        twilio_sms_from=get("TWILIO_SMS_FROM"),
        twilio_messaging_service_sid=get("TWILIO_MESSAGING_SERVICE_SID"),
        twilio_whatsapp_from=get("TWILIO_WHATSAPP_FROM"),
        twilio_api_base_url=get("TWILIO_API_BASE_URL"),
        public_url=(get("PUBLIC_URL") or "").rstrip("/") or None,
        secret_key=get("SECRET_KEY") or "",
        outbox_rate_sms=float(get("OUTBOX_RATE_SMS") or 10.0),
        outbox_rate_whatsapp=float(get("OUTBOX_RATE_WHATSAPP") or 20.0),
        outbox_rate_sms_counts=(get("OUTBOX_RATE_SMS_COUNTS") or "segments").strip().lower(),
        outbox_lease_seconds=float(get("OUTBOX_LEASE_SECONDS") or 120.0),
        outbox_max_attempts=int(get("OUTBOX_MAX_ATTEMPTS") or 8),
        outbox_backoff_seconds=float(get("OUTBOX_BACKOFF_SECONDS") or 30.0),
        outbox_batch=int(get("OUTBOX_BATCH") or 50),
        outbox_workers=int(get("OUTBOX_WORKERS") or 4),
        sms_price_per_segment=float(get("SMS_PRICE_PER_SEGMENT") or 0.05),
        whatsapp_price_per_message=float(get("WHATSAPP_PRICE_PER_MESSAGE") or 0.05),
        handoff_template_sid=get("HANDOFF_TEMPLATE_SID"),
    )
