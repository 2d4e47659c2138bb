"""Settings from VOICECART_* variables, with safe defaults."""

from __future__ import annotations

import pytest

from voicecart.settings import ConfigError, Settings


def test_defaults_are_secure_and_embedded() -> None:
    settings = Settings.from_env({})
    assert settings.verify_alexa_requests is True
    assert settings.demo_shopper_for_unlinked is False
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("instance/voicecart.db")
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_disabling_verification_enables_demo_shopper_unless_told_otherwise() -> None:
    assert Settings.from_env({"VOICECART_VERIFY_ALEXA_REQUESTS": "0"}).demo_shopper_for_unlinked
    explicit = Settings.from_env(
        {"VOICECART_VERIFY_ALEXA_REQUESTS": "off", "VOICECART_DEMO_SHOPPER_FOR_UNLINKED": "no"}
    )
    assert not explicit.demo_shopper_for_unlinked


def test_values_are_read() -> None:
    settings = Settings.from_env(
        {
            "VOICECART_DATABASE_URL": "postgresql+psycopg://u:p@db/voicecart",
            "VOICECART_SKILL_ID": "amzn1.ask.skill.abc",
            "VOICECART_PORT": "9000",
            "VOICECART_MAX_QUANTITY": "10",
            "VOICECART_THREADS": "2",
            "VOICECART_DELIVERY_DAYS": "5",
            "VOICECART_VOICE_CODE_ABOVE_CENTS": "5000",
            "VOICECART_VOICE_CODE_ATTEMPTS": "4",
            "VOICECART_VOICE_CODE_LOCK_MINUTES": "30",
            "VOICECART_VOICE_CODE_MAX_LOCK_MINUTES": "120",
            "VOICECART_REFRESH_TOKEN_LIFETIME_DAYS": "365",
            "VOICECART_REFRESH_TOKEN_IDLE_DAYS": "60",
            "VOICECART_DB_LOCK_TIMEOUT": "9",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u:p@db/voicecart"
    assert settings.skill_id == "amzn1.ask.skill.abc"
    assert settings.port == 9000
    assert settings.max_quantity == 10
    assert settings.threads == 2
    assert settings.charges.delivery_days == 5
    policy = settings.voice_code
    assert (policy.required_above_cents, policy.max_attempts, policy.lock_minutes) == (5000, 4, 30)
    assert policy.max_lock_minutes == 120
    assert (settings.refresh_token_lifetime_days, settings.refresh_token_idle_days) == (365, 60)
    assert settings.db_lock_timeout == 9


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("VOICECART_VERIFY_ALEXA_REQUESTS", "maybe", "use 1/0"),
        ("VOICECART_PORT", "eighty", "not a whole number"),
        ("VOICECART_PORT", "70000", "between 1 and 65535"),
        ("VOICECART_MAX_QUANTITY", "0", "between 1 and 1000"),
        ("VOICECART_LOG_LEVEL", "LOUD", "VOICECART_LOG_LEVEL"),
        ("VOICECART_VOICE_CODE_ATTEMPTS", "0", "between 1 and 10"),
        ("VOICECART_THREADS", "many", "not a whole number"),
        ("VOICECART_REFRESH_TOKEN_IDLE_DAYS", "0", "between 1 and 3650"),
        ("VOICECART_DB_LOCK_TIMEOUT", "0", "between 1 and 300"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        Settings.from_env({name: value})
    assert name in str(info.value)
