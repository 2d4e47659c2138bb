"""voicecart's composition root: settings, database, the Flask app and the ``voicecart`` CLI.

Only this module wires the packages together. Importing it does nothing: engines,
models and servers are created by :func:`create_app` and the CLI commands.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, Response, jsonify
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from catalog.dbstate import Unavailable, probe, unavailable

if TYPE_CHECKING:
    from account_link.orders import Charges
    from account_link.voice_codes import VoiceCodePolicy
    from skill.webservice import AlexaSignatureVerifier

ROOT = Path(__file__).resolve().parent
MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_INSTANCE_DIR = ROOT / "instance"
SKILL_PACKAGE_DIR = ROOT / "skill-package"
MIGRATIONS_DIR = ROOT / "migrations"

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


# --------------------------------------------------------------------------- database


def _ensure_sqlite_directory(settings: Settings) -> None:
    """Create the folder of a SQLite file (``instance/`` on a fresh clone)."""
    if settings.is_sqlite:
        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(settings: Settings) -> Engine:
    """One engine per process. SQLite gets foreign keys, WAL and a busy timeout."""
    wait_ms = settings.db_lock_timeout * 1000
    if settings.is_sqlite:
        _ensure_sqlite_directory(settings)
        engine = create_engine(
            settings.database_url,
            connect_args={"timeout": settings.db_lock_timeout, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={wait_ms}")
            cursor.close()

        return engine
    return create_engine(
        settings.database_url,
        pool_pre_ping=True,
        # A server that is down fails fast; a lock held too long is a 503, not a hang.
        connect_args={"connect_timeout": 5, "options": f"-c lock_timeout={wait_ms}"},
    )


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """The one session factory; its sessions keep the catalogue revision up to date."""
    from catalog.revision import track_catalogue_changes

    sessions = sessionmaker(engine, expire_on_commit=False)
    track_catalogue_changes(sessions)
    return sessions


def alembic_config(settings: Settings) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def upgrade_database(settings: Settings) -> None:
    """Apply pending Alembic migrations (idempotent); one log line says what changed."""
    from alembic import command

    _ensure_sqlite_directory(settings)
    before = _schema_revision(settings)
    command.upgrade(alembic_config(settings), "head")
    after = _schema_revision(settings)
    if before != after:
        log.info("database schema: %s -> %s (%s)", before or "empty", after,
                 _redacted(settings.database_url))  # fmt: skip


def _schema_revision(settings: Settings) -> str | None:
    """The Alembic revision the database is at (``None``: no schema yet)."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def seed_demo(sessions: sessionmaker[Session]) -> str:
    """Load the demo catalogue and the demo shopper; safe to run any number of times."""
    from account_link.demo import seed_demo_shopper
    from catalog.demo import seed_demo_catalog

    with sessions.begin() as session:
        catalog = seed_demo_catalog(session)
        shopper = seed_demo_shopper(session)
    return (
        f"demo catalogue: {catalog.created} added, {catalog.updated} updated, "
        f"{catalog.unchanged} unchanged; demo shopper: {shopper}"
    )


# --------------------------------------------------------------------------- Flask app


@dataclass
class Wiring:
    """What one app instance built; tests reach the database through it."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    dialogue: Any = None
    """The local channels' :class:`skill.local.LocalDialogue` (simulator, dialogue tests)."""
    matcher: Any = None
    """The app's :class:`catalog.matching.CatalogMatcher`."""

    def close(self) -> None:
        """Let a background index build finish (it holds a database connection), then
        close the database pool: for tests and tools that build many apps."""
        if self.matcher is not None:
            self.matcher.wait_for_build()
        self.engine.dispose()


def _install_order_pause(seconds: float) -> None:
    """Crash tests: hold every order's transaction open, saying so in the log."""
    import time

    from account_link import orders

    def pause(order: Any) -> None:
        log.warning("test hook: pausing %.0f s inside the transaction of a new order (pid %d)",
                    seconds, os.getpid())  # fmt: skip
        time.sleep(seconds)

    orders.PAUSE_INSIDE_ORDER = pause
    log.warning("VOICECART_TEST_PAUSE_IN_ORDER is set: for crash tests only")


def wiring(app: Flask) -> Wiring:
    found: Wiring = app.extensions["voicecart"]
    return found


def _register_errors(app: Flask) -> None:
    from skill.webservice import verification_failure

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response | str, int]:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 400 and message == "Incoming request failed verification":
            return jsonify({"error": "verification_failed", "message": verification_failure()}), 400
        if _wants_page():
            return _error_page(exc.name, _PAGE_MESSAGES.get(status, message)), status
        error = getattr(exc, "error_code", None) or exc.name.lower().replace(" ", "_")
        return jsonify({"error": error, "message": message}), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response | str, int] | Response:
        trouble = unavailable(exc)
        if trouble is not None:
            return _database_unavailable(trouble)
        log.exception("unhandled error", exc_info=exc)
        if _wants_page():
            return _error_page("Something went wrong", "Voice Cart hit an internal error. "
                               "Nothing was changed; please try again."), 500  # fmt: skip
        return jsonify(
            {"error": "internal_error", "message": "voicecart hit an internal error"}
        ), 500


def _database_unavailable(trouble: Unavailable) -> Response:
    """503 with ``Retry-After`` (when waiting helps), logged as one line: the transaction
    rolled back, so nothing the request asked for happened."""
    from flask import make_response, request

    log.warning("database %s: %s %s answered 503 (nothing was changed)",
                trouble.trouble.value, request.method, request.path)  # fmt: skip
    message = f"Voice Cart can't reach its data right now ({trouble.message}). Nothing was changed."
    if _wants_page():
        response = make_response(_error_page("Please try again in a moment", message), 503)
    else:
        response = jsonify({"error": "database_unavailable", "message": message,
                            "database": trouble.trouble.value})  # fmt: skip
        response.status_code = 503
    if trouble.retry_after_seconds:
        response.headers["Retry-After"] = str(trouble.retry_after_seconds)
    return response


_MACHINE_PATHS = ("/api/", "/alexa", "/oauth/token", "/oauth/revoke", "/healthz")
_PAGE_MESSAGES = {
    404: "There is no page at this address.",
    405: "This page can't be used that way.",
    400: "The request didn't make sense (an expired form, perhaps). Please try again.",
}


def _wants_page() -> bool:
    """A browser asking for a page gets an HTML error page; programs get JSON."""
    from flask import request

    if request.path.startswith(_MACHINE_PATHS):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def _error_page(title: str, message: str) -> str:
    from flask import render_template

    return render_template("error.html", title=title, message=message, customer=None)


def _secret_key(settings: Settings) -> str:
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


def create_app(
    settings: Settings | None = None,
    *,
    signature_verifier: AlexaSignatureVerifier | None = None,
    announce: bool = True,
) -> Flask:
    """Build the WSGI app. ``signature_verifier`` lets tests trust a local certificate chain;
    ``announce=False`` leaves the settings' warnings to the caller (``serve`` says them once
    for all its workers)."""
    from flask_wtf.csrf import CSRFProtect

    from account_link.oauth import OAuthSettings
    from catalog.matching import CatalogMatcher
    from nlu.asr import recognizer_for
    from skill.builder import build_skill
    from skill.local import LocalDialogue
    from skill.turn import SkillConfig, SkillDeps
    from skill.webservice import VoicecartSkillAdapter, alexa_verifiers
    from web.api import create_api
    from web.jsonbody import StrictJSONProvider
    from web.local import create_local_api
    from web.oauth import create_blueprint
    from web.openapi import create_openapi
    from web.shop import ShopSettings, create_shop

    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    provider = StrictJSONProvider(app)  # odd bodies are 400s before any view reads them
    provider.sort_keys = False
    app.json = provider
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the sign-in session
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,  # refused with 413 before it is read
    )

    @app.after_request
    def _no_framing(response: Response) -> Response:
        """Pages with buttons (consent, cart) must not be framed by another site, and no
        reply may be sniffed into another type than the one it declares."""
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        return response

    csrf = CSRFProtect(app)
    if settings.test_pause_in_order:
        _install_order_pause(settings.test_pause_in_order)
    engine = make_engine(settings)
    sessions = make_sessions(engine)
    matcher = CatalogMatcher(settings.index_folder)
    deps = SkillDeps(
        matcher=matcher,
        config=SkillConfig(
            max_quantity=settings.max_quantity,
            demo_for_unlinked=settings.demo_shopper_for_unlinked,
            cancel_window=settings.cancel_window,
            return_window=settings.return_window,
            charges=settings.charges,
            voice_code=settings.voice_code,
        ),
    )
    skill = build_skill(deps)
    app.extensions["voicecart"] = Wiring(settings, engine, sessions, matcher=matcher)

    if announce:
        for warning in startup_warnings(settings):
            log.warning("%s", warning)
    verifiers = (
        alexa_verifiers(settings.skill_id, signature_verifier)
        if settings.verify_alexa_requests
        else []
    )
    alexa_skill = build_skill(deps, exactly_once=True)  # a retried requestId acts once
    adapter = VoicecartSkillAdapter(alexa_skill, settings.skill_id, sessions, verifiers, app)
    app.add_url_rule("/alexa", "alexa", adapter.dispatch_request, methods=["POST"])
    csrf.exempt(adapter.dispatch_request)  # Alexa requests are signed, not cookie-borne

    oauth = OAuthSettings(
        client_id=settings.oauth_client_id,
        client_secret=settings.oauth_client_secret,
        redirect_uris=settings.oauth_redirect_uris,
        access_token_ttl=settings.access_token_ttl,
        refresh_token_lifetime_days=settings.refresh_token_lifetime_days,
        refresh_token_idle_days=settings.refresh_token_idle_days,
    )
    app.register_blueprint(create_blueprint(app, sessions, oauth))
    api = create_api(sessions, max_quantity=settings.max_quantity, charges=settings.charges,
                     cancel_window=settings.cancel_window)  # fmt: skip
    csrf.exempt(api)  # bearer-token API: no cookies, so no cross-site forgery
    app.register_blueprint(api)
    shop = ShopSettings(
        max_quantity=settings.max_quantity, charges=settings.charges,
        cancel_window=settings.cancel_window, return_window=settings.return_window,
        voice_code=settings.voice_code,
        oauth_client_id=settings.oauth_client_id, oauth_redirect_uris=settings.oauth_redirect_uris,
    )  # fmt: skip
    app.register_blueprint(create_shop(sessions, matcher, shop))
    dialogue = LocalDialogue(
        skill, sessions, matcher,
        lambda: recognizer_for(settings.vosk_model, settings.general_lm_weight),
        nlu_dir=settings.nlu_folder,
    )  # fmt: skip
    wiring(app).dialogue = dialogue
    local = create_local_api(sessions, dialogue)
    csrf.exempt(local)
    app.register_blueprint(local)
    app.register_blueprint(create_openapi())
    for endpoint in ("web.oauth.issue_token", "web.oauth.revoke"):
        csrf.exempt(endpoint)  # client-authenticated back-channel calls, no cookies

    @app.get("/healthz")
    def _health() -> tuple[Response, int]:
        """Whether this worker can take a write now; never the database's own error text
        (it names hosts and ports), which goes to the log instead."""
        trouble = probe(engine)
        if trouble is None:
            return jsonify({"status": "ok", "database": "ok"}), 200
        log.warning("health check: database %s", trouble.trouble.value)
        reply = jsonify({"status": "unavailable", "database": trouble.trouble.value,
                         "message": trouble.message})  # fmt: skip
        if trouble.retry_after_seconds:
            reply.headers["Retry-After"] = str(trouble.retry_after_seconds)
        return reply, 503

    _register_errors(app)
    return app


# --------------------------------------------------------------------------- CLI


@dataclass
class _DialogStage:
    dialogue: Any
    sessions: sessionmaker[Session]
    max_quantity: int


class DialogStages:
    """Fresh, demo-seeded voicecarts for dialogue tests and the simulator: one template
    database migrated and seeded once, copied for each conversation (isolated, fast)."""

    def __init__(self, base: Settings | None = None) -> None:
        import tempfile

        self._base = base or Settings()
        self._dir = Path(tempfile.mkdtemp(prefix="voicecart-dialogs-"))
        self._template = self._dir / "template.db"
        settings = Settings(database_url=f"sqlite:///{self._template}", instance_dir=self._dir)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade_database(settings)
        engine = make_engine(settings)
        seed_demo(make_sessions(engine))
        engine.dispose()
        self._count = 0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[_DialogStage]:
        import shutil

        self._count += 1
        db = self._dir / f"conversation-{self._count}.db"
        shutil.copy(self._template, db)
        index = self._dir / f"index-{self._count}"  # its catalogue is its own
        settings = replace(
            self._base, database_url=f"sqlite:///{db}", instance_dir=self._dir, index_dir=index,
            verify_alexa_requests=False, demo_shopper_for_unlinked=False,
            secret_key=self._base.secret_key or "voicecart-dialog-tests",
        )  # fmt: skip
        quiet = logging.getLogger("voicecart")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # "verification is off" etc. are expected here
        try:
            app = create_app(settings)
        finally:
            quiet.setLevel(level)
        built = wiring(app)
        try:
            yield _DialogStage(built.dialogue, built.sessions, settings.max_quantity)
        finally:
            built.close()
            db.unlink(missing_ok=True)
            shutil.rmtree(index, ignore_errors=True)

    def close(self) -> None:
        import shutil

        shutil.rmtree(self._dir, ignore_errors=True)


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _prepare_database(settings: Settings) -> sessionmaker[Session]:
    """Migrate; on the embedded default an empty database also gets the demo data."""
    from catalog.models import Product

    upgrade_database(settings)
    sessions = make_sessions(make_engine(settings))
    if not os.environ.get("VOICECART_DATABASE_URL"):
        with sessions() as session:
            empty = not session.scalar(select(func.count(Product.id)))
        if empty:
            log.info("embedded database is empty: %s", seed_demo(sessions))
    return sessions


def printable(text: str) -> str:
    """``text`` safe for a terminal: control and format characters (escape sequences, bell,
    carriage return, bidi overrides) from e-mails, names or catalogue rows shown as
    ``\\x1b``-style escapes; new lines and tabs kept."""
    return "".join(_printable_char(char) for char in text)


_UNPRINTABLE = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}


def _printable_char(char: str) -> str:
    if char in "\n\t" or unicodedata.category(char) not in _UNPRINTABLE:
        return char
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """Every line the command line prints: untrusted text never reaches the terminal raw."""
    click.echo(printable(str(message)), err=err, nl=nl)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="voicecart")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """voicecart: a voice-commerce assistant backend (Alexa skill, shared cart, reorders).

    Settings come from VOICECART_* environment variables; see the README.
    """
    try:
        ctx.obj = Settings.from_env()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    logging.basicConfig(
        level=ctx.obj.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic's INFO lines (context, one per migration) on every command are noise:
    # upgrade_database says in one line what it applied.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    # Authlib logs issued tokens at DEBUG; the database keeps only their hashes.
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger().level))


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations to VOICECART_DATABASE_URL (default: instance/voicecart.db)."""
    settings = _settings(ctx)
    upgrade_database(settings)
    echo(f"database is at the latest schema: {_redacted(settings.database_url)}")


@cli.command()
@click.option("--demo", is_flag=True, help="Load the shipped demo catalogue and demo shopper.")
@click.pass_context
def seed(ctx: click.Context, demo: bool) -> None:
    """Load starter data into the database (idempotent)."""
    if not demo:
        raise click.UsageError("say what to seed: --demo")
    settings = _settings(ctx)
    upgrade_database(settings)
    echo(seed_demo(make_sessions(make_engine(settings))))


@cli.group("catalog")
def catalog_group() -> None:
    """Catalogue commands."""


@catalog_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "instacart"]),
    default="csv",
    show_default=True,
    help="csv: voicecart's columns (sku,name,brand,size,price_cents,stock,category,synonyms,"
    "popularity). instacart: Instacart 2017 products.csv (departments.csv beside it names "
    "categories).",
)
@click.option("--default-price-cents", type=click.IntRange(0), default=399, show_default=True,
              help="Price for formats that carry none (instacart).")  # fmt: skip
@click.option("--default-stock", type=click.IntRange(0), default=100, show_default=True,
              help="Stock for new products in formats that carry none (instacart).")  # fmt: skip
@click.pass_context
def catalog_import(
    ctx: click.Context, file: Path, fmt: str, default_price_cents: int, default_stock: int
) -> None:
    """Import FILE into the catalogue: upsert by SKU, skip and report bad rows.

    Valid rows land in one transaction (all or nothing); running servers pick the new
    catalogue up on their next request.
    """
    from catalog.errors import CatalogError
    from catalog.importer import ImportFormat, import_catalog

    settings = _settings(ctx)
    upgrade_database(settings)
    sessions = make_sessions(make_engine(settings))
    size = file.stat().st_size if file.is_file() else 0
    try:
        with (
            click.progressbar(length=size, label=f"importing {file.name}", file=sys.stderr) as bar,
            sessions.begin() as session,
        ):
            report = import_catalog(
                session, file, ImportFormat(fmt), progress=bar.update,
                default_price_cents=default_price_cents, default_stock=default_stock,
            )  # fmt: skip
    except CatalogError as exc:
        raise click.ClickException(printable(f"nothing imported: {exc}")) from exc
    echo(
        f"imported {report.imported} products ({report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged); skipped {len(report.skipped)} rows"
    )
    for problem in report.skipped[:50]:
        echo(f"  line {problem.line}: {problem.reason}", err=True)
    if len(report.skipped) > 50:
        echo(f"  ... and {len(report.skipped) - 50} more", err=True)
    if report.created or report.updated:
        _ready_index(sessions, settings)
        _ready_understanding(sessions, settings)


@catalog_group.command("index")
@click.pass_context
def catalog_index(ctx: click.Context) -> None:
    """Build the catalogue index of the current revision into VOICECART_INDEX_DIR.

    `catalog import` runs this itself. Servers memory-map the newest index there (every
    worker shares one copy) and build one in the background only when it is missing.
    """
    settings = _settings(ctx)
    upgrade_database(settings)
    _ready_index(make_sessions(make_engine(settings)), settings)


def _ready_index(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Build the committed catalogue's index folder, so no server has to."""
    import time

    from catalog.matching import build_index_folder

    started = time.perf_counter()
    with sessions() as session:
        folder, index = build_index_folder(session, settings.index_folder)
    echo(f"catalogue index: {len(index)} products in {folder} "
         f"({time.perf_counter() - started:.1f} s)")  # fmt: skip


@cli.group("model")
def model_group() -> None:
    """Speech-recognition models for the local voice channel."""


@model_group.command("list")
@click.pass_context
def model_list(ctx: click.Context) -> None:
    """Show the Vosk models installed in the models folder and which one is in use."""
    from nlu.models import installed_models

    settings = _settings(ctx)
    folder = settings.models_folder
    models = installed_models(folder)
    echo(f"models folder: {folder} (VOICECART_MODEL_DIR)")
    for model in models:
        active = " (in use)" if settings.vosk_model and model.path == settings.vosk_model else ""
        echo(f"  {model.name}  {model.size_mb:.0f} MB{active}")
    if not models:
        echo("  no Vosk models installed: run `voicecart model download`")
    in_use = settings.vosk_model or "none (VOICECART_VOSK_MODEL is not set)"
    echo(f"VOICECART_VOSK_MODEL: {in_use}")


@model_group.command("download")
@click.option("--name", default="vosk-model-small-en-us-0.15", show_default=True,
              help="Model name as on the official Vosk model list.")  # fmt: skip
@click.pass_context
def model_download(ctx: click.Context, name: str) -> None:
    """Download a Vosk model from its official site, check its MD5, unpack it."""
    from nlu.models import DownloadError, download_model

    settings = _settings(ctx)
    folder = settings.models_folder
    with click.progressbar(length=0, label=f"downloading {name}", file=sys.stderr) as bar:

        def report(done: int, total: int) -> None:
            bar.length = total or bar.length
            bar.update(done - bar.pos)

        try:
            path = download_model(folder, name, base_url=settings.model_base_url, progress=report)
        except DownloadError as exc:
            raise click.ClickException(str(exc)) from exc
    echo(f"installed {name} in {path}")
    echo(f"use it with: export VOICECART_VOSK_MODEL={path}")


@cli.command()
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--alternatives", type=click.IntRange(1, 10), default=5, show_default=True)
@click.pass_context
def transcribe(ctx: click.Context, wav: Path, alternatives: int) -> None:
    """Transcribe a WAV (Vosk if VOICECART_VOSK_MODEL is set, else PocketSphinx) and parse it."""
    from catalog.matching import CatalogMatcher
    from catalog.service import active_products
    from nlu.asr import recognizer_for
    from nlu.audio import AudioError, read_wav
    from skill.interaction.model import build_model
    from skill.local import understanding
    from skill.speech_domain import domain_bias

    settings = _settings(ctx)
    try:
        audio = read_wav(wav.read_bytes())
    except AudioError as exc:
        raise click.ClickException(f"{wav}: {exc}") from exc
    sessions = _prepare_database(settings)
    matcher = CatalogMatcher()
    with sessions() as db:
        names = [n for p in active_products(db) for n in (p.name, *p.synonyms)]
        model = build_model([])
        heard = recognizer_for(settings.vosk_model, settings.general_lm_weight).transcribe(
            audio, phrases=domain_bias(model, names), alternatives=alternatives
        )
        texts = [h.text for h in heard.alternatives]
        engine = understanding(sessions, settings.nlu_folder)[0]
        parse = engine.parse_best(texts, resolver=lambda w: matcher.fit(db, w))
    echo(f"engine: {heard.engine}, audio {heard.audio_seconds:.2f} s, "
         f"decoded in {heard.decode_seconds:.2f} s")  # fmt: skip
    for rank, hypothesis in enumerate(heard.alternatives, start=1):
        echo(f"  {rank}. {hypothesis.text}  ({hypothesis.confidence:.3f})")
    if not heard.alternatives:
        echo("  (nothing recognised)")
    echo(f"intent: {parse.intent} (confidence {parse.confidence:.2f}) slots: {parse.slots}")


@cli.group("orders")
def orders_group() -> None:
    """Look at orders and move them along (placed, packed, shipped, delivered)."""


@orders_group.command("list")
@click.option("--email", help="Only this shopper's orders.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.pass_context
def orders_list(ctx: click.Context, email: str | None, limit: int) -> None:
    """The latest orders: id, when, shopper, status, promised delivery, channel, total, lines."""
    from account_link.accounts import normalise_email
    from account_link.models import Customer, Order
    from catalog.money import dollars as money

    sessions = _prepare_database(_settings(ctx))
    with sessions() as db:
        query = select(Order).join(Customer).order_by(Order.placed_at.desc(), Order.id.desc())
        if email:
            query = query.where(Customer.email == normalise_email(email))
        found = list(db.scalars(query.limit(limit)))
        for order in found:
            lines = ", ".join(f"{ln.quantity} x {ln.product_name}" for ln in order.lines)
            due = f"due {order.expected_at:%Y-%m-%d}" if order.expected_at else "due -"
            echo(f"{order.id:>6}  {order.placed_at:%Y-%m-%d %H:%M}  {order.customer.email}  "
                 f"{order.status:<9} {due:<14} {order.channel:<11} "
                 f"{money(order.total_cents):>9}  {lines}")  # fmt: skip
    if not found:
        echo("no orders")


@orders_group.command("advance")
@click.argument("order_id", type=click.IntRange(1, 2**31 - 1))
@click.pass_context
def orders_advance(ctx: click.Context, order_id: int) -> None:
    """Move an order one step: placed -> packed -> shipped -> delivered."""
    from account_link.errors import AccountError
    from account_link.orders import advance_order

    sessions = _prepare_database(_settings(ctx))
    try:
        with sessions.begin() as db:
            order = advance_order(db, order_id)
            status = order.status
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    log.info("order %s is now %s", order_id, status)
    echo(f"order {order_id} is now {status}")


@cli.group("returns")
def returns_group() -> None:
    """Returns of delivered orders: list them, and mark them received (stock back,
    refund issued)."""


@returns_group.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only returns not yet received.")
@click.pass_context
def returns_list(ctx: click.Context, open_only: bool) -> None:
    """Every return: id, when, shopper, order, units, refund, status, channel."""
    from account_link.models import Customer, ReturnStatus
    from account_link.returns import all_returns
    from catalog.money import dollars as money

    sessions = _prepare_database(_settings(ctx))
    with sessions() as db:
        found = all_returns(db, status=ReturnStatus.REQUESTED.value if open_only else None)
        for made in found:
            email = db.get_one(Customer, made.customer_id).email
            what = f"{made.quantity} x {made.line.product_name}"
            echo(f"{made.id:>6}  {made.created_at:%Y-%m-%d %H:%M}  {email}  order "
                 f"{made.order_id:<6} {what}  {money(made.refund_cents):>9}  "
                 f"{made.status:<9} {made.channel}")  # fmt: skip
    if not found:
        echo("no returns")


@returns_group.command("receive")
@click.argument("return_id", type=click.IntRange(1, 2**31 - 1))
@click.pass_context
def returns_receive(ctx: click.Context, return_id: int) -> None:
    """The items of a return arrived back: stock restored, refund issued (once)."""
    from account_link.errors import AccountError
    from account_link.returns import receive_return
    from catalog.money import dollars as money

    sessions = _prepare_database(_settings(ctx))
    try:
        with sessions.begin() as db:
            made = receive_return(db, return_id)
            said = (
                f"return {return_id} received: {made.quantity} back in stock, "
                f"{money(made.refund_cents)} refunded"
            )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    log.info("%s", said)
    echo(said)


@cli.command()
@click.option("--email", help="The shopper (default: the demo shopper).")
@click.option("--minutes", type=click.IntRange(1, 1440), default=60, show_default=True,
              help="How long the token lives.")  # fmt: skip
@click.pass_context
def token(ctx: click.Context, email: str | None, minutes: int) -> None:
    """Print an access token for a shopper, for curl and API clients in development.

    Anyone holding it acts as that shopper until it expires (it is never written to a log).
    """
    from account_link.accounts import customer_by_email
    from account_link.identity import demo_shopper
    from account_link.tokens import issue_access_token

    sessions = _prepare_database(_settings(ctx))
    with sessions.begin() as db:
        customer = customer_by_email(db, email) if email else demo_shopper(db)
        if customer is None:
            raise click.ClickException(f"no shopper {email or 'demo'}: sign up first, or run "
                                       "`voicecart seed --demo`")  # fmt: skip
        minted = issue_access_token(db, customer, ttl_seconds=minutes * 60)
        who = customer.email
    echo(f"access token for {who}, valid {minutes} minutes:", err=True)
    echo(minted)


@cli.command("test-dialogs")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Name every conversation as it runs.")
@click.pass_context
def test_dialogs(ctx: click.Context, paths: tuple[Path, ...], verbose: bool) -> None:
    """Run YAML dialogue tests (files or folders of *.yaml) against a fresh demo database.

    Prints every failing turn with what was expected and what happened, and ends with
    "N passed, N failed"; the exit code is 1 when anything failed.
    """
    from devtools.dialogs import ConversationOutcome, run_files, summary

    def progress(outcome: ConversationOutcome) -> None:
        if verbose:
            mark = "PASS" if outcome.passed else "FAIL"
            echo(f"{mark} {outcome.spec.path}: {outcome.spec.name}")
        elif not outcome.passed:
            echo(outcome.failure_report())

    if not verbose:  # the skill logs every request at INFO; the report says what matters
        logging.getLogger("voicecart").setLevel(logging.WARNING)
    stages = DialogStages(_settings(ctx))
    try:
        outcomes, broken = run_files(paths, stages, progress)
    finally:
        stages.close()
    for problem in broken:
        echo(f"cannot run {problem}", err=True)
    if verbose:
        for outcome in outcomes:
            if not outcome.passed:
                echo(outcome.failure_report())
    echo(summary(outcomes, broken))
    if broken or not all(o.passed for o in outcomes):
        ctx.exit(1)


@cli.command()
@click.argument("utterances", nargs=-1)
@click.option(
    "--user", metavar="EMAIL", help="Act as this linked shopper (default: the demo shopper)."
)
@click.option("--token", help="Act with this access token, as a linked Alexa user would.")
@click.option(
    "--json", "as_json", is_flag=True,
    help="JSON Lines: one object per turn on stdout (the turn, the Alexa request and "
    "response, the reply, the cart); with --replay, one per conversation. Anything "
    "else goes to stderr.",
)  # fmt: skip
@click.option(
    "--endpoint", metavar="URL", help="Drive a running voicecart over HTTP (needs --token)."
)
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the conversation as a recording (YAML) with the shopper's starting "
              "state: cart, orders, address, voice code, and the stock and prices it relied "
              "on (over --endpoint: the turns only).")  # fmt: skip
@click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Replay a recording (or a dialogue-test file) on a fresh demo database, "
              "from the recorded state; show differences (exit 1 if any).")  # fmt: skip
@click.pass_context
def simulate(ctx: click.Context, utterances: tuple[str, ...], user: str | None,
             token: str | None, as_json: bool, endpoint: str | None, record: Path | None,
             replay: Path | None) -> None:  # fmt: skip
    """Talk to the skill in a console and see every turn: what was heard, the intent and
    slots, the matched product, speech, reprompt, card, session attributes and the cart.

    Type what the shopper says, or :launch, :intent NAME slot=value, :wav PATH, :end,
    :new, :help, :quit. In a terminal, lines can be edited, Up and Down recall earlier
    ones (kept in simulator_history in the instance folder) and Tab completes commands,
    intents, slots and paths. With UTTERANCES (e.g. "reorder coffee" "yes") the turns
    run in one session and the command exits.
    """
    from devtools.simulator import (
        HISTORY_FILE,
        Console,
        HttpTarget,
        Recorder,
        Simulator,
        Target,
        outcome_json,
    )
    from devtools.simulator import replay as replay_file

    settings = _settings(ctx)

    def note(text: str = "") -> None:  # for a person: stderr when stdout carries JSON
        echo(text, err=as_json)

    # Each turn is shown in full; the skill's own request log would only repeat it.
    logging.getLogger("voicecart").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if replay is not None:
        from devtools.dialogs import summary

        stages = DialogStages(settings)
        try:
            outcomes, broken = replay_file(replay, stages)
        finally:
            stages.close()
        for problem in broken:
            echo(f"cannot replay {problem}", err=True)
        for outcome in outcomes:
            if as_json:
                echo(outcome_json(outcome))
            else:
                echo(f"same as recorded: {outcome.spec.name}" if outcome.passed
                     else outcome.failure_report())  # fmt: skip
        note(summary(outcomes, broken))
        ctx.exit(0 if outcomes and not broken and all(o.passed for o in outcomes) else 1)
    shopper = "demo"
    target: Target
    minted = None
    if endpoint:
        if not token:
            raise click.UsageError("--endpoint needs --token (an access token for that server)")
        target = HttpTarget(endpoint, token)
    else:
        target, shopper, minted = _local_target(settings, user, token)
    recorder = None
    try:
        if record is not None:  # before the first turn: the state the conversation starts from
            recorder = Recorder.for_target(shopper, target)
        simulator = Simulator(target, echo, as_json=as_json, recorder=recorder, notes=note)
        if utterances:
            for utterance in utterances:
                simulator.handle(utterance)
        else:
            note("voicecart simulator: type what the shopper says (:help for commands).")
            console = Console.open(settings.instance_dir / HISTORY_FILE, prompt_on_stderr=as_json)
            try:
                simulator.run(console)
            finally:
                console.close()
    finally:
        if minted:  # the simulator's own token dies with it
            _revoke(settings, minted)
    if record is not None and recorder is not None:
        if not recorder.turns:
            raise click.ClickException("nothing to record: no turn was sent")
        record.write_text(recorder.dump(record.stem.replace("-", " ")), encoding="utf-8")
        note(f"recorded {len(recorder.turns)} turns to {record}")
        if recorder.start is None:
            note("(over --endpoint the starting state is not recorded: the HTTP API does not "
                 "show stock; --replay runs the turns on the demo data)")  # fmt: skip


def _revoke(settings: Settings, token: str) -> None:
    from account_link.tokens import revoke_access_token

    engine = make_engine(settings)
    with make_sessions(engine).begin() as db:
        revoke_access_token(db, token)
    engine.dispose()


SIMULATOR_TOKEN_TTL = 900
"""Seconds a simulator's own access token lives (it is also revoked when it exits)."""


def _local_target(
    settings: Settings, user: str | None, token: str | None
) -> tuple[Any, str, str | None]:
    """The skill in this process acting as the chosen shopper, the fixture shopper kind
    for recordings, and the token the simulator minted (to revoke at the end)."""
    from account_link.accounts import customer_by_email
    from account_link.identity import demo_shopper
    from account_link.tokens import TokenState, check_access_token, issue_access_token
    from devtools.simulator import LocalTarget

    sessions = _prepare_database(settings)
    quiet = logging.getLogger("voicecart")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        built = wiring(create_app(replace(settings, verify_alexa_requests=False)))
    finally:
        quiet.setLevel(level)
    minted = None
    with sessions.begin() as db:
        if token:
            checked = check_access_token(db, token)
            if checked.state is not TokenState.VALID or checked.customer is None:
                raise click.ClickException(f"--token: that access token is {checked.state}")
            customer, shopper = checked.customer, "new"
        else:
            if user:
                found = customer_by_email(db, user)
                if found is None:
                    hint = "sign up on the linking page first, or leave out --user"
                    raise click.ClickException(f"no shopper signs in as {user}: {hint}")
                customer, shopper = found, "new"
            else:
                demo = demo_shopper(db)
                if demo is None:
                    raise click.ClickException("no demo shopper: run `voicecart seed --demo`")
                customer, shopper = demo, "demo"
            token = minted = issue_access_token(db, customer, ttl_seconds=SIMULATOR_TOKEN_TTL)
        customer_id = customer.id
    target = LocalTarget(built.dialogue, built.sessions, token, customer_id)
    return target, shopper, minted


@cli.command("export-model")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=SKILL_PACKAGE_DIR,
    show_default=True,
    help="Directory to write skill.json and interactionModels/ into.",
)
@click.option("--check", is_flag=True,
              help="Write no skill-package files; report what Alexa's build would reject, "
                   "what would confuse recognition, and files that are out of date.")  # fmt: skip
@click.pass_context
def export_model(ctx: click.Context, out: Path, check: bool) -> None:
    """Write the Alexa skill package (manifest and en-US model) from the active catalogue."""
    from catalog.matching import CatalogMatcher
    from catalog.service import active_products
    from skill.interaction.export import render_package, write_package
    from skill.interaction.lint import lint_model
    from skill.interaction.model import CatalogEntry, build_model

    settings = _settings(ctx)
    sessions = _prepare_database(settings)
    with sessions() as session:
        entries = [
            CatalogEntry(p.sku, p.name, p.brand, tuple(p.synonyms), p.popularity)
            for p in active_products(session)
        ]
        if not entries:
            raise click.ClickException("the catalogue is empty: run `voicecart seed --demo` first")
        model = build_model(entries)
        if check:
            matcher = CatalogMatcher()
            findings = lint_model(model, resolver=lambda w: matcher.fit(session, w))
    files = render_package(model, settings.public_url)
    if check:
        stale = [out / rel for rel, text in files.items()
                 if not (out / rel).exists() or (out / rel).read_text("utf-8") != text]  # fmt: skip
        for finding in findings:
            echo(str(finding))
        for path in stale:
            echo(f"WARNING {path}: out of date; run `voicecart export-model` to rewrite it")
        errors = sum(f.severity == "error" for f in findings)
        warnings = len(findings) - errors + len(stale)
        echo(f"{len(model.intents)} intents, {len(entries)} products: "
             f"{errors} errors, {warnings} warnings")  # fmt: skip
        ctx.exit(1 if errors else 0)
    changed = write_package(out, files)
    for relative in files:
        state = "updated" if out / relative in changed else "unchanged"
        echo(f"{state}: {out / relative}")
    echo(f"{len(entries)} products in the PRODUCT slot type")


@cli.command()
@click.option("--host", help="Interface to bind (default VOICECART_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port (default VOICECART_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default 2).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Migrate the database, then serve /alexa with gunicorn (production WSGI server)."""
    settings = _settings(ctx)
    settings = replace(
        settings,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
    )
    sessions = _prepare_database(settings)
    _ready_understanding(sessions, settings)
    if settings.is_sqlite and settings.workers > 1:
        log.info(
            "SQLite with %d workers: fine for development; use PostgreSQL to scale out",
            settings.workers,
        )
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", settings.workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", settings.threads)
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", "-")
            self.cfg.set("loglevel", settings.log_level.lower())
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 24 opens one control socket per user; two servers would collide.
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Flask:
            return create_app(settings, announce=False)  # said once, below

    _secret_key(settings)  # made once here, not raced for by the workers
    for warning in startup_warnings(settings):
        log.warning("%s", warning)
    base = f"http://{settings.host}:{settings.port}"
    threads = f"{settings.threads} thread{'s' if settings.threads != 1 else ''}"
    echo(f"voicecart serving at {base} ({settings.workers} workers, {threads} each); "
         "Ctrl-C to stop")  # fmt: skip
    for label, path in (("shop", "/"), ("cart", "/cart"), ("Alexa endpoint", "/alexa"),
                        ("API reference", "/api/docs"), ("health", "/healthz")):  # fmt: skip
        echo(f"  {label:<15}{base}{path}")
    _Server().run()


def _ready_understanding(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Train the parser (or find it trained) before workers start, so they only load."""
    from skill.local import understanding

    echo("understanding: preparing the trained parser...")
    report = understanding(sessions, settings.nlu_folder)[1]
    if report is not None:
        how = "found" if report.loaded else f"trained on {report.examples:,} sentences"
        echo(f"understanding: parser {how} in {report.seconds:.1f} s "
             f"({settings.nlu_folder / report.key})")  # fmt: skip


@cli.group("nlu")
def nlu_group() -> None:
    """The local intent parser (templates, then the trained parser)."""


@nlu_group.command("train")
@click.pass_context
def nlu_train(ctx: click.Context) -> None:
    """Train the parser for the current model and catalogue (or find it trained) into
    VOICECART_NLU_DIR; `serve` does this before its workers start."""
    settings = _settings(ctx)
    _ready_understanding(_prepare_database(settings), settings)


@nlu_group.command("parse")
@click.argument("text", nargs=-1, required=True)
@click.pass_context
def nlu_parse(ctx: click.Context, text: tuple[str, ...]) -> None:
    """Show how TEXT is understood: intent, slots, confidence, which parser read it."""
    from skill.local import understanding

    settings = _settings(ctx)
    sessions = _prepare_database(settings)
    engine = understanding(sessions, settings.nlu_folder)[0]
    from catalog.matching import CatalogMatcher

    matcher = CatalogMatcher()
    with sessions() as db:
        parse = engine.parse(" ".join(text), resolver=lambda words: matcher.fit(db, words))
    echo(f"intent:     {parse.intent}")
    echo(f"slots:      {parse.slots}")
    echo(f"confidence: {parse.confidence} ({parse.source} parser)")
    if parse.alternatives:
        echo("next:       " + ", ".join(f"{n} {p}" for n, p in parse.alternatives))


def _redacted(url: str) -> str:
    """A database URL safe to print (password hidden)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Console-script entry point: a database that cannot serve is one line, not a trace."""
    try:
        cli.main(prog_name="voicecart")
    except Exception as exc:
        trouble = unavailable(exc)
        if trouble is None:
            raise
        url = _redacted(Settings.from_env().database_url)
        echo(f"voicecart: error: {trouble.message} ({url})", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
