"""flask-ask-sdk imports on OpenSSL >= 3.0.10 thanks to the oscrypto import hook."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_flask_ask_sdk_imports_in_a_fresh_interpreter() -> None:
    result = _run(
        "import skill.webservice, oscrypto._openssl._libcrypto as l; "
        "from flask_ask_sdk.skill_adapter import SkillAdapter; print(l.libcrypto_version_info)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("(")


def test_without_the_hook_only_the_version_check_fails() -> None:
    """The hook fixes exactly wbond/oscrypto#78; any other oscrypto failure must surface."""
    result = _run("import oscrypto._openssl._libcrypto")
    if result.returncode != 0:
        assert "Error detecting the version of libcrypto" in result.stderr


def test_hook_is_idempotent() -> None:
    from skill._oscrypto_compat import OscryptoVersionFinder, ensure_oscrypto_importable

    ensure_oscrypto_importable()
    ensure_oscrypto_importable()
    assert sum(isinstance(f, OscryptoVersionFinder) for f in sys.meta_path) == 1
