"""voicecart's composition root: the services every channel shares, and the Flask app.

Only this module wires the packages together. :func:`build_services` makes the engine,
the catalogue matcher, the skill and the local dialogue without Flask (for the command
line, the tests and the benchmarks); :func:`create_app` serves them over HTTP. Settings
and the database plumbing live in :mod:`voicecart`, the command line in
:mod:`voicecart.cli`. Importing this module does nothing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from voicecart.database import make_engine, make_sessions
from voicecart.settings import (
    MAX_BODY_BYTES,
    Settings,
    announce_startup_warnings,
    load_secret_key,
)
from web.app_errors import register_error_handlers
from web.health import register_health

if TYPE_CHECKING:
    from ask_sdk_core.skill import CustomSkill

    from catalog.matching import CatalogMatcher
    from skill.local import LocalDialogue
    from skill.turn import SkillDeps
    from skill.webservice import AlexaSignatureVerifier

log = logging.getLogger("voicecart")


@dataclass
class Services:
    """What one voicecart process serves with, built once by :func:`build_services`: the
    Flask app, the command line, the tests and the benchmarks reach the database and the
    skill through it."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    matcher: CatalogMatcher
    deps: SkillDeps
    """The skill's collaborators and policy (an ``/alexa`` skill is built on the same)."""
    skill: CustomSkill
    """The skill the local channels invoke (no replay of retried Alexa requests)."""
    dialogue: LocalDialogue
    """The local channels' dialogue (text and voice API, simulator, dialogue tests)."""

    def close(self) -> None:
        """Let a background index build finish (it holds a database connection), then
        close the database pool: for tests and tools that build many."""
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


def wiring(app: Flask) -> Services:
    """The services ``app`` was built on (tests reach the database through them)."""
    found: Services = app.extensions["voicecart"]
    return found


def build_services(settings: Settings) -> Services:
    """The engine, sessions, matcher, skill and local dialogue for ``settings``, no Flask."""
    from catalog.matching import CatalogMatcher
    from nlu.asr import recognizer_for
    from skill.builder import build_skill
    from skill.local import LocalDialogue
    from skill.turn import SkillConfig, SkillDeps

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
    dialogue = LocalDialogue(
        skill, sessions, matcher,
        lambda: recognizer_for(settings.vosk_model, settings.general_lm_weight),
        nlu_dir=settings.nlu_folder,
    )  # fmt: skip
    return Services(settings, engine, sessions, matcher, deps, skill, dialogue)


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
    from skill.builder import build_skill
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
        SECRET_KEY=load_secret_key(settings),
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
    services = build_services(settings)
    sessions, matcher, dialogue = services.sessions, services.matcher, services.dialogue
    app.extensions["voicecart"] = services

    if announce:
        announce_startup_warnings(settings)
    verifiers = (
        alexa_verifiers(settings.skill_id, signature_verifier)
        if settings.verify_alexa_requests
        else []
    )
    alexa_skill = build_skill(services.deps, exactly_once=True)  # a retried requestId acts once
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
    local = create_local_api(sessions, dialogue)
    csrf.exempt(local)
    app.register_blueprint(local)
    app.register_blueprint(create_openapi())
    for endpoint in ("web.oauth.issue_token", "web.oauth.revoke"):
        csrf.exempt(endpoint)  # client-authenticated back-channel calls, no cookies

    register_health(app, services.engine)
    register_error_handlers(app)
    return app
