"""One settings object for the web process, the workers and the CLI (JITGATE_* variables)."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - a marker, refused in production


class InsecureSettings(RuntimeError):
    """Raised when the service would run outside development with a guessable secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JITGATE_", extra="ignore")

    env: str = "development"
    database_url: str = "sqlite:///./jitgate.db"
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEVELOPMENT_SECRET

    log_format: str = Field(default="text", pattern="^(text|json)$")
    log_level: str = "INFO"
    access_log: bool = True  # one line per request (route template, status, duration)
    gc_freeze: bool = (
        True  # freeze the start-up heap: short full collections (app/core/gc_pauses.py)
    )
    metrics_token: str | None = None  # when set, GET /metrics needs it as a bearer token
    worker_metrics_port: int | None = None  # Redis mode: a worker serves its own /metrics here
    worker_metrics_host: str = "127.0.0.1"

    access_token_ttl: int = 900
    assertion_max_lifetime: int = 300
    clock_leeway: int = 30

    max_body_bytes: int = 64 * 1024
    max_header_bytes: int = 8 * 1024
    jwks_fetch_timeout: float = 3.0  # seconds for the whole fetch (connect and body), not per read
    jwks_max_bytes: int = 64 * 1024
    jwks_cache_seconds: int = 300
    jwks_failure_seconds: float = 30.0  # a failed jwks_uri is not fetched again for this long
    # jwks_uri, callback_url and webhook URLs on loopback/private/link-local addresses:
    # unset means allowed only when env is development or test (app/core/outbound.py).
    allow_private_urls: bool | None = None
    decision_cache_seconds: float = 1.0
    verified_token_cache: int = 10_000

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    email_from: str = "jitgate@localhost"
    webhook_url: str | None = None
    # Third-party deliveries (webhooks, agents' callback_url): a wall-clock limit per POST,
    # connect to last byte, since a per-read timeout never fires on a receiver that drips.
    delivery_deadline_seconds: float = 10.0
    # How many third-party deliveries of one org may be in flight at once (the rest wait their
    # turn), so one org's slow endpoints cannot take every delivery slot.
    delivery_org_concurrency: int = 2
    # Embedded mode: threads of the in-process worker for the jitgate.deliveries queue.
    delivery_threads: int = 4
    # The outbox (issue 14): how long the relay leaves a side effect to its fast-path task
    # before sending it again (doubling per attempt), and after how many attempts it gives up.
    outbox_relay_after_seconds: float = Field(default=60.0, gt=0)
    outbox_max_attempts: int = Field(default=10, ge=1)

    ask_llm_url: str | None = None
    ask_llm_model: str | None = None
    ask_llm_api_key: str | None = None
    ask_llm_timeout: float = 4.0
    ask_max_question_chars: int = Field(default=1000)

    # Rate limits and budgets (app/identity/rate_limits.py); per-agent values are the org-wide
    # defaults that PATCH /agents/{id} {"budget": {..}} overrides.
    rate_limits_enabled: bool = True
    agent_requests_per_minute: int = Field(default=600, ge=1)
    agent_jit_requests_per_hour: int = Field(default=60, ge=1)
    agent_max_pending_jit: int = Field(default=10, ge=1)
    address_requests_per_minute: int = Field(default=300, ge=1)

    @property
    def embedded(self) -> bool:
        """True when everything runs in one process (no Redis configured)."""
        return not self.redis_url

    def check_secure(self) -> None:
        """Refuse to run outside development with a missing or default secret."""
        if self.env != "development" and (
            not self.secret_key
            or self.secret_key == DEVELOPMENT_SECRET
            or len(self.secret_key) < 16
        ):
            raise InsecureSettings(
                "JITGATE_SECRET_KEY must be set to a random value of at least 16 characters "
                f"when JITGATE_ENV={self.env!r} (only 'development' may use the default)"
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
