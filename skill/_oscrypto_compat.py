"""Make oscrypto 1.3.0 import on OpenSSL >= 3.0.10.

oscrypto 1.3.0 reads the libcrypto version with the regex ``\\d\\.\\d\\.\\d[a-z]*`` and
so fails on "3.0.10" and later with "Error detecting the version of libcrypto"
(wbond/oscrypto#78; fixed only on oscrypto's master). flask-ask-sdk's request
verifier imports it through certvalidator. This import hook rewrites that one regex
in the source before it is compiled; once oscrypto ships the fix, the old pattern is
not found and the hook changes nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType

_TARGETS = frozenset({"oscrypto._openssl._libcrypto_cffi", "oscrypto._openssl._libcrypto_ctypes"})
_OLD = rb"re.search('\\b(\\d\\.\\d\\.\\d[a-z]*)\\b', version_string)"
_NEW = rb"re.search('\\b(\\d\\.\\d\\.\\d+[a-z]*)\\b', version_string)"


class _PatchedSourceLoader(importlib.machinery.SourceFileLoader):
    """Compile the patched source every time; never read or write bytecode caches."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        source = self.get_data(path).replace(_OLD, _NEW)
        return compile(source, path, "exec", dont_inherit=True)


class OscryptoVersionFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _TARGETS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return None
        spec.loader = _PatchedSourceLoader(fullname, spec.origin)
        return spec


def ensure_oscrypto_importable() -> None:
    """Install the hook once (idempotent); call before importing flask_ask_sdk."""
    if not any(isinstance(finder, OscryptoVersionFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, OscryptoVersionFinder())
