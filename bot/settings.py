"""Read the app's settings from the environment (names as README.md "Settings" lists them)."""
from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from nlu.classifier import DEFAULT_MIN_CONFIDENCE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


def setting(default, env: str | None = None, parse=None, doc: str = ""):
    """Declare one setting: its default, the environment variable it is read from (None: not
    read from the environment, only overridden), how that text is read, and what it means."""
    return field(default=default, metadata={"env": env, "parse": parse or str, "doc": doc})


def _flag(value: str, default: bool = True) -> bool:
    return value.strip().lower() not in {"0", "false", "no", "off"} if value.strip() else default


def _one_of(value: str, allowed: tuple) -> str:
    value = value.strip().lower()
    if value not in allowed:
        raise ValueError(f"expected one of {', '.join(allowed)}, not {value!r}")
    return value


def _url(value: str) -> str | None:
    return value.rstrip("/") or None


@dataclass(frozen=True)
class Settings:
    """Every setting the app reads, declared once; tests pass overrides instead of env vars."""

    chaski_env: str = setting("development", "CHASKI_ENV", lambda v: v.strip().lower(),
                              "production: refuse to start without the settings a real "
                              "service needs; never generate a secret or load demo data")
    database_url: str = setting("", "DATABASE_URL", doc="SQLAlchemy URL (default: the demo "
                                "SQLite file under instance/)")
    nlu_url: str = setting("http://127.0.0.1:5005", "NLU_URL", lambda v: v.rstrip("/"),
                           "base URL of a running Rasa server")
    nlu_token: str | None = setting(None, "NLU_TOKEN", doc="Rasa's --auth-token; the client "
                                    "sends it as ?token=")
    nlu_timeout: float = setting(2.0, "NLU_TIMEOUT", float, "seconds to wait for a parse")
    nlu_min_confidence: float = setting(DEFAULT_MIN_CONFIDENCE,
                                        doc="below it, the bot asks what the person meant")
    twilio_account_sid: str | None = setting(None, "TWILIO_ACCOUNT_SID", doc="Twilio account")
    twilio_auth_token: str | None = setting(None, "TWILIO_AUTH_TOKEN",
                                            doc="Twilio token; also checks X-Twilio-Signature")
    twilio_validate: bool = setting(True, "TWILIO_VALIDATE", _flag,
                                    "0 turns the signature check off (local experiments only)")
    twilio_sms_from: str | None = setting(None, "TWILIO_SMS_FROM", doc="SMS sender number")
    twilio_messaging_service_sid: str | None = setting(None, "TWILIO_MESSAGING_SERVICE_SID",
                                                       doc="SMS sender (Messaging Service)")
    twilio_whatsapp_from: str | None = setting(None, "TWILIO_WHATSAPP_FROM",
                                               doc="WhatsApp sender, whatsapp:+...")
    twilio_api_base_url: str | None = setting(None, "TWILIO_API_BASE_URL",
                                              doc="send Twilio REST calls to another base URL")
    twilio_timeout: float = setting(10.0, doc="seconds to wait for Twilio's REST API")
    public_url: str | None = setting(None, "PUBLIC_URL", _url,
                                     "public base URL Twilio calls (signature behind proxies)")
    trusted_proxies: int = setting(0, "TRUSTED_PROXIES", int,
                                   "reverse proxies in front that set X-Forwarded-* (0: none, "
                                   "the headers are ignored)")
    secret_key: str = setting("", "SECRET_KEY", doc="Flask session key (generated if unset)")
    metrics_token: str | None = setting(None, "METRICS_TOKEN", doc="Bearer token Prometheus sends "
                                        "to GET /metrics (unset: 404 in production, loopback "
                                        "only in development)")
    conversation_ttl_minutes: int = setting(60, doc="a conversation's state expires after this")
    max_inbound_chars: int = setting(1600, doc="longer inbound messages are cut")
    phone_countries: tuple = setting(("PE",), "PHONE_COUNTRIES",
                                     lambda v: tuple(c.upper() for c in v.replace(",", " ").split()),
                                     "ISO codes of the countries whose numbers Chaski serves")
    outbox_rate_sms: float = setting(10.0, "OUTBOX_RATE_SMS", float,
                                     "SMS segments a second the sender allows itself (0: no limit)")
    outbox_rate_whatsapp: float = setting(20.0, "OUTBOX_RATE_WHATSAPP", float,
                                          "WhatsApp messages a second (0: no limit)")
    outbox_rate_sms_counts: str = setting("segments", "OUTBOX_RATE_SMS_COUNTS",
                                          lambda v: v.strip().lower(),
                                          "segments, or messages (bot/outbound/ratelimit.py)")
    outbox_lease_seconds: float = setting(120.0, "OUTBOX_LEASE_SECONDS", float,
                                          "after this a row left in sending is checked with Twilio")
    outbox_max_attempts: int = setting(8, "OUTBOX_MAX_ATTEMPTS", int, "tries before failing")
    outbox_backoff_seconds: float = setting(30.0, "OUTBOX_BACKOFF_SECONDS", float,
                                            "first retry delay, doubled each time (max 1 h)")
    outbox_batch: int = setting(50, "OUTBOX_BATCH", int, "rows a sender claims at a time")
    outbox_workers: int = setting(4, "OUTBOX_WORKERS", int, "sender threads sharing the rate limit")
    outbox_concurrency: int = setting(16, "OUTBOX_CONCURRENCY", int,
                                      "Twilio requests each sender worker keeps in flight")
    outbox_http: str = setting("async", "OUTBOX_HTTP", lambda v: _one_of(v, ("async", "threads")),
                               "async: the sends in flight share one asyncio loop (aiohttp); "
                               "threads: one thread and requests session each")
    sms_price_per_segment: float = setting(0.05, "SMS_PRICE_PER_SEGMENT", float,
                                           "USD, for broadcast preview")
    whatsapp_price_per_message: float = setting(0.05, "WHATSAPP_PRICE_PER_MESSAGE", float,
                                                "USD, for broadcast preview")
    handoff_template_sid: str | None = setting(
        None, "HANDOFF_TEMPLATE_SID", doc="approved WhatsApp template (HX...) a staff reply to a "
        "hand-off uses outside the 24-hour window; none: such replies are refused")
    whatsapp_templates: str = setting(
        "", "WHATSAPP_TEMPLATES", doc='approved WhatsApp templates per proactive source and language, '
        'JSON: {"alert": {"es": "HX..."}, ...}; the Plantillas console page overrides them')
    alert_feeds: tuple = setting((), "ALERT_FEEDS", lambda v: tuple(v.split()),
                                 "space-separated CAP feed URLs added as auto feeds at start-up")
    alert_poll_minutes: int = setting(5, "ALERT_POLL_MINUTES", int,
                                      "how often the scheduler polls every feed")
    retention_days: int = setting(365, "RETENTION_DAYS", int,
                                  "message bodies older than this are blanked by a daily job")
    suppression_key: str = setting("", "SUPPRESSION_KEY", doc="HMAC key of the suppression list of "
                                   "erased numbers that said STOP (default: SECRET_KEY; keep it "
                                   "stable, a new key forgets the list)")
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


    @property
    def production(self) -> bool:
        return self.chaski_env == "production"


class NotReadyForProduction(Exception):
    """CHASKI_ENV=production and settings are missing: one line per problem in `problems`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# What production needs, and what to put there (README "Deploy on a server").
PRODUCTION_NEEDS = {
    "SECRET_KEY": ("secret_key", "a long random string, the same for every process"),
    "TWILIO_AUTH_TOKEN": ("twilio_auth_token", "checks X-Twilio-Signature on every webhook"),
    "PUBLIC_URL": ("public_url", "the https:// base URL Twilio calls"),
    "NLU_TOKEN": ("nlu_token", "the Rasa server's --auth-token"),
}


def production_problems(settings: Settings) -> list[str]:
    """Return one line per setting CHASKI_ENV=production lacks (none: ready, or not production)."""
    if not settings.production:
        return []
    problems = []
    url = settings.database_url or ""
    if not url or url == default_database_url():
        problems.append("CHASKI_ENV=production: DATABASE_URL is not set (a PostgreSQL URL, "
                        "postgresql://...)")
    elif not url.startswith("postgresql"):
        problems.append(f"CHASKI_ENV=production: DATABASE_URL must be PostgreSQL "
                        f"(postgresql://...), not {url.split(':', 1)[0]}")
    for name, (attr, what) in PRODUCTION_NEEDS.items():
        if not getattr(settings, attr):
            problems.append(f"CHASKI_ENV=production: {name} is not set ({what})")
    return problems


def default_database_url() -> str:
    """Return the SQLite file under instance/ that `make run` uses by default."""
    return f"sqlite:///{INSTANCE_DIR / 'chaski.sqlite'}"


def load_secret_key(instance_dir: Path | None = None) -> str:
    """Return the SECRET_KEY kept in instance/secret_key, generating it on first run.

    Processes started together (web workers, scheduler, sender) must all end up with the same
    key: each writes a candidate to its own temporary file, then hard-links it to the final
    name, which fails if the name exists; whoever lost reads the winner's key. The file
    appears complete or not at all, and is never overwritten.
    """
    instance_dir = INSTANCE_DIR if instance_dir is None else instance_dir
    path = instance_dir / "secret_key"
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    instance_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".secret_key.", dir=instance_dir)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic, and never replaces an existing key
        except FileExistsError:
            pass  # another process won the race: use its key
    finally:
        os.unlink(tmp)
    return _read_key(path)


def _read_key(path: Path) -> str:
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it (every session is signed out) or set "
                           "SECRET_KEY")
    return key


def from_env(env: dict | None = None) -> Settings:
    """Build Settings from environment variables (an empty one counts as unset)."""
    env = os.environ if env is None else env
    values = {}
    for f in fields(Settings):
        name = f.metadata.get("env")
        if name and env.get(name):
            try:
                values[f.name] = f.metadata["parse"](env[name])
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
    values.setdefault("database_url", default_database_url())
    return Settings(**values)
