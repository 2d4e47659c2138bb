"""Every runtime setting, read once from the ``VOICECART_*`` environment.

Kept apart from the app and the command line so both (and the tests) read the same
values the same way; nothing here opens a database or a socket.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from account_link.orders import Charges
    from account_link.voice_codes import VoiceCodePolicy

ROOT = Path(__file__).resolve().parent.parent
"""The folder that holds ``voicecart/`` (the repository, or site-packages when installed)."""
MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_INSTANCE_DIR = ROOT / "instance"
SKILL_PACKAGE_DIR = ROOT / "skill-package"

log = logging.getLogger("voicecart")


class ConfigError(Exception):
    """A ``VOICECART_*`` setting has a value voicecart cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: use 1/0, true/false, yes/no or on/off")


def _fraction(env: Mapping[str, str], name: str, default: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: not a number") from None
    if not 0.0 <= value <= high:
        raise ConfigError(f"{name}={value}: must be between 0 and {high}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value}: must be between {low} and {high}")
    return value


@dataclass(frozen=True)
class Settings:
    """Every runtime setting; :meth:`from_env` documents the ``VOICECART_*`` names."""

    database_url: str = ""
    skill_id: str | None = None
    verify_alexa_requests: bool = True
    demo_shopper_for_unlinked: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 1
    """Threads per worker. Turns are CPU-bound Python: more threads only contend for the
    GIL (p99 at 300 requests/s: 30-37 ms with 1, 40-47 with 2, 118-126 with 4)."""
    max_quantity: int = 25
    log_level: str = "INFO"
    public_url: str = "https://voicecart.example.com"
    instance_dir: Path = field(default=DEFAULT_INSTANCE_DIR)
    secret_key: str | None = None
    secure_cookies: bool = True
    oauth_client_id: str = "alexa-skill"
    oauth_client_secret: str | None = None
    oauth_redirect_uris: tuple[str, ...] = ()
    access_token_ttl: int = 3600
    refresh_token_lifetime_days: int = 90
    refresh_token_idle_days: int = 30
    cancel_window_minutes: int = 30
    return_window_days: int = 30
    tax_bps: int = 0
    delivery_fee_cents: int = 0
    free_delivery_from_cents: int = 0
    delivery_days: int = 2
    voice_code_above_cents: int = 0
    voice_code_attempts: int = 3
    voice_code_lock_minutes: int = 15
    voice_code_max_lock_minutes: int = 24 * 60
    db_lock_timeout: int = 5
    """Seconds a write waits for a lock (SQLite's busy timeout, PostgreSQL's
    ``lock_timeout``) before the request is answered 503 with ``Retry-After``."""
    test_pause_in_order: float = 0.0
    """Crash tests only: seconds to wait inside an order's transaction before commit."""
    vosk_model: Path | None = None
    model_dir: Path | None = None
    nlu_dir: Path | None = None
    index_dir: Path | None = None
    general_lm_weight: float = 0.0
    model_base_url: str = "https://alphacephei.com/vosk/models/"

    @property
    def models_folder(self) -> Path:
        return self.model_dir or self.instance_dir / "models"

    @property
    def index_folder(self) -> Path:
        """Where the catalogue index of each revision is kept, memory-mapped by workers."""
        return self.index_dir or self.instance_dir / "index"

    @property
    def nlu_folder(self) -> Path:
        """Where the trained parser's files are kept (one folder per model revision)."""
        return self.nlu_dir or self.instance_dir / "nlu"

    def __post_init__(self) -> None:
        if not self.database_url:
            default = f"sqlite:///{self.instance_dir / 'voicecart.db'}"
            object.__setattr__(self, "database_url", default)

    @property
    def charges(self) -> Charges:
        """Tax and delivery on every order."""
        from account_link.orders import Charges

        return Charges(self.tax_bps, self.delivery_fee_cents, self.free_delivery_from_cents,
                       self.delivery_days)  # fmt: skip

    @property
    def cancel_window(self) -> timedelta:
        """How long after placing an order it can still be cancelled."""
        return timedelta(minutes=self.cancel_window_minutes)

    @property
    def return_window(self) -> timedelta:
        """How long after delivery an order's lines can be returned."""
        return timedelta(days=self.return_window_days)

    @property
    def voice_code(self) -> VoiceCodePolicy:
        """When purchases by voice need the shopper's code, and what wrong codes cost."""
        from account_link.voice_codes import VoiceCodePolicy

        longest = max(self.voice_code_max_lock_minutes, self.voice_code_lock_minutes)
        return VoiceCodePolicy(self.voice_code_above_cents, self.voice_code_attempts,
                               self.voice_code_lock_minutes, longest)  # fmt: skip

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        verify = _flag(env, "VOICECART_VERIFY_ALEXA_REQUESTS", True)
        instance = Path(env.get("VOICECART_INSTANCE_DIR") or DEFAULT_INSTANCE_DIR)
        level = (env.get("VOICECART_LOG_LEVEL") or "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"VOICECART_LOG_LEVEL={level!r}: use DEBUG, INFO, WARNING or ERROR")
        return cls(
            database_url=env.get("VOICECART_DATABASE_URL", "").strip(),
            skill_id=(env.get("VOICECART_SKILL_ID") or "").strip() or None,
            verify_alexa_requests=verify,
            # Local development (verification off) talks as the demo shopper unless told not to.
            demo_shopper_for_unlinked=_flag(env, "VOICECART_DEMO_SHOPPER_FOR_UNLINKED", not verify),
            host=env.get("VOICECART_HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=_int(env, "VOICECART_PORT", 8000, 1, 65535),
            workers=_int(env, "VOICECART_WORKERS", 2, 1, 64),
            threads=_int(env, "VOICECART_THREADS", 1, 1, 64),
            max_quantity=_int(env, "VOICECART_MAX_QUANTITY", 25, 1, 1000),
            log_level=level,
            public_url=(env.get("VOICECART_PUBLIC_URL") or "https://voicecart.example.com").strip(),
            instance_dir=instance,
            secret_key=(env.get("VOICECART_SECRET_KEY") or "").strip() or None,
            secure_cookies=_flag(env, "VOICECART_SECURE_COOKIES", True),
            oauth_client_id=(env.get("VOICECART_OAUTH_CLIENT_ID") or "alexa-skill").strip(),
            oauth_client_secret=(env.get("VOICECART_OAUTH_CLIENT_SECRET") or "").strip() or None,
            oauth_redirect_uris=tuple(
                uri.strip()
                for uri in (env.get("VOICECART_OAUTH_REDIRECT_URIS") or "").split(",")
                if uri.strip()
            ),
            access_token_ttl=_int(env, "VOICECART_ACCESS_TOKEN_TTL", 3600, 360, 30 * 86400),
            refresh_token_lifetime_days=_int(
                env, "VOICECART_REFRESH_TOKEN_LIFETIME_DAYS", 90, 1, 3650
            ),
            refresh_token_idle_days=_int(env, "VOICECART_REFRESH_TOKEN_IDLE_DAYS", 30, 1, 3650),
            cancel_window_minutes=_int(env, "VOICECART_CANCEL_WINDOW_MINUTES", 30, 0, 10080),
            return_window_days=_int(env, "VOICECART_RETURN_WINDOW_DAYS", 30, 0, 365),
            tax_bps=_int(env, "VOICECART_TAX_BPS", 0, 0, 5000),
            delivery_fee_cents=_int(env, "VOICECART_DELIVERY_FEE_CENTS", 0, 0, 100_000),
            free_delivery_from_cents=_int(
                env, "VOICECART_FREE_DELIVERY_FROM_CENTS", 0, 0, 10_000_000
            ),
            delivery_days=_int(env, "VOICECART_DELIVERY_DAYS", 2, 0, 60),
            voice_code_above_cents=_int(env, "VOICECART_VOICE_CODE_ABOVE_CENTS", 0, 0, 10_000_000),
            voice_code_attempts=_int(env, "VOICECART_VOICE_CODE_ATTEMPTS", 3, 1, 10),
            voice_code_lock_minutes=_int(env, "VOICECART_VOICE_CODE_LOCK_MINUTES", 15, 1, 10080),
            voice_code_max_lock_minutes=_int(
                env, "VOICECART_VOICE_CODE_MAX_LOCK_MINUTES", 1440, 1, 10080
            ),
            db_lock_timeout=_int(env, "VOICECART_DB_LOCK_TIMEOUT", 5, 1, 300),
            test_pause_in_order=float(_int(env, "VOICECART_TEST_PAUSE_IN_ORDER", 0, 0, 600)),
            vosk_model=Path(env["VOICECART_VOSK_MODEL"])
            if env.get("VOICECART_VOSK_MODEL")
            else None,
            model_dir=Path(env["VOICECART_MODEL_DIR"]) if env.get("VOICECART_MODEL_DIR") else None,
            nlu_dir=Path(env["VOICECART_NLU_DIR"]) if env.get("VOICECART_NLU_DIR") else None,
            index_dir=(
                Path(env["VOICECART_INDEX_DIR"]) if env.get("VOICECART_INDEX_DIR") else None
            ),
            general_lm_weight=_fraction(env, "VOICECART_GENERAL_LM_WEIGHT", 0.0, 0.5),
            model_base_url=(
                env.get("VOICECART_MODEL_BASE_URL") or "https://alphacephei.com/vosk/models/"
            ),
        )


def load_secret_key(settings: Settings) -> str:
    """VOICECART_SECRET_KEY, or one generated once into instance/secret_key (0600).

    Workers starting together race to create it: the key is written to a private
    temporary file and linked into place, which either wins whole or finds the winner's
    key, so no worker ever reads a missing, empty or second key.
    """
    if settings.secret_key:
        return settings.secret_key
    path = settings.instance_dir / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp makes it 0600
                handle.write(secrets.token_urlsafe(48))
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, path)
            log.info("generated a secret key in %s", path)
        except FileExistsError:
            pass  # another worker won the race: use its key
        finally:
            os.unlink(temporary)
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigError(
            f"{path} holds no usable secret key ({len(key)} characters): delete it to have "
            "a new one generated, or set VOICECART_SECRET_KEY"
        )
    return key


def startup_warnings(settings: Settings) -> list[str]:
    """What an operator must know about these settings before the first request."""
    said = []
    if not settings.verify_alexa_requests:
        said.append("Alexa request verification is DISABLED (VOICECART_VERIFY_ALEXA_REQUESTS=0): "
                    "signature, timestamp and skill id are not checked. "
                    "Use this for local development only.")  # fmt: skip
    elif not settings.skill_id:
        said.append("VOICECART_SKILL_ID is not set: every Alexa request will be refused")
    if settings.demo_shopper_for_unlinked:
        said.append("unlinked Alexa users act as the demo shopper (development setting)")
    if not settings.oauth_client_secret:
        said.append("account linking is off: set VOICECART_OAUTH_CLIENT_SECRET to enable /oauth")
    return said


def announce_startup_warnings(settings: Settings) -> None:
    """Log :func:`startup_warnings`: once per server (not per worker), and per simulator."""
    for warning in startup_warnings(settings):
        log.warning("%s", warning)
