"""Speech models on disk: list what is installed, download the official English model.

Downloads come from Vosk's official model site: the model list names each archive's
MD5, the archive is fetched with progress reporting, checked against that checksum
and only then unpacked (into a temporary folder, moved into place at the end).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nlu.asr import is_vosk_model
from nlu.errors import NluError

OFFICIAL_BASE_URL = "https://alphacephei.com/vosk/models/"
DEFAULT_MODEL = "vosk-model-small-en-us-0.15"
CHUNK = 256 * 1024


class DownloadError(NluError):
    """The model could not be fetched or failed its checksum; nothing was installed."""


@dataclass(frozen=True, slots=True)
class InstalledModel:
    name: str
    path: Path
    size_mb: float


def installed_models(folder: Path) -> list[InstalledModel]:
    """Vosk model folders directly under ``folder``."""
    if not folder.is_dir():
        return []
    found = []
    for child in sorted(folder.iterdir()):
        if is_vosk_model(child):
            size = sum(f.stat().st_size for f in child.rglob("*") if f.is_file())
            found.append(InstalledModel(child.name, child, size / 2**20))
    return found


def _open(url: str) -> object:
    try:
        return urllib.request.urlopen(url, timeout=30)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DownloadError(f"could not reach {url}: {exc}") from exc


def official_md5(name: str, base_url: str = OFFICIAL_BASE_URL) -> tuple[str, int]:
    """The MD5 and size the official model list publishes for ``name``."""
    with _open(base_url + "model-list.json") as response:  # type: ignore[attr-defined]
        models = json.loads(response.read())
    for entry in models:
        if entry.get("name") == name:
            return str(entry["md5"]), int(entry.get("size", 0))
    raise DownloadError(f"{name} is not in the official model list")


def download_model(
    folder: Path,
    name: str = DEFAULT_MODEL,
    *,
    base_url: str = OFFICIAL_BASE_URL,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> Path:
    """Fetch, verify and unpack ``name`` into ``folder``; returns the model's folder."""
    target = folder / name
    if is_vosk_model(target):
        return target
    expected_md5, expected_size = official_md5(name, base_url)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        archive = Path(tmp) / f"{name}.zip"
        digest = hashlib.md5(usedforsecurity=False)
        done = 0
        with _open(f"{base_url}{name}.zip") as response, archive.open("wb") as out:  # type: ignore[attr-defined]
            total = int(response.headers.get("Content-Length") or expected_size or 0)
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                progress(done, total)
        if digest.hexdigest() != expected_md5:
            raise DownloadError(
                f"checksum mismatch for {name}: got md5 {digest.hexdigest()}, "
                f"the official list says {expected_md5}; nothing was installed"
            )
        try:
            with zipfile.ZipFile(archive) as bundle:
                bundle.extractall(Path(tmp) / "unpacked")
        except zipfile.BadZipFile as exc:
            raise DownloadError(f"{name}.zip is not a valid archive: {exc}") from exc
        unpacked = Path(tmp) / "unpacked" / name
        if not is_vosk_model(unpacked):
            raise DownloadError(f"{name}.zip does not contain a Vosk model folder {name}/")
        shutil.move(str(unpacked), target)
    return target
