"""`voicecart model download` against a local stand-in for the official model site."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nlu.models import DownloadError, download_model, installed_models

NAME = "vosk-model-small-en-us-0.15"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A model list and a zipped model folder, served over loopback HTTP."""
    root = tmp_path / "site"
    root.mkdir()
    archive = root / f"{NAME}.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"{NAME}/am/final.mdl", b"\x00" * 200_000)
        bundle.writestr(f"{NAME}/conf/model.conf", "--sample-frequency=16000\n")
    md5 = hashlib.md5(archive.read_bytes(), usedforsecurity=False).hexdigest()
    (root / "model-list.json").write_text(
        json.dumps([{"name": NAME, "md5": md5, "size": archive.stat().st_size}])
    )
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root
    server.shutdown()
    server.server_close()


def test_download_checks_md5_and_installs(site: tuple[str, Path], tmp_path: Path) -> None:
    base_url, _root = site
    seen: list[tuple[int, int]] = []
    path = download_model(tmp_path / "models", NAME, base_url=base_url,
                          progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert (path / "am" / "final.mdl").is_file()
    assert seen[-1][0] == seen[-1][1] > 0  # progress reached the whole size
    assert [m.name for m in installed_models(tmp_path / "models")] == [NAME]
    assert download_model(tmp_path / "models", NAME, base_url=base_url) == path  # no refetch


def test_checksum_mismatch_installs_nothing(site: tuple[str, Path], tmp_path: Path) -> None:
    base_url, root = site
    listing = json.loads((root / "model-list.json").read_text())
    listing[0]["md5"] = "0" * 32
    (root / "model-list.json").write_text(json.dumps(listing))
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_model(tmp_path / "models", NAME, base_url=base_url)
    assert installed_models(tmp_path / "models") == []
    assert not any((tmp_path / "models").iterdir())  # no half-unpacked leftovers


def test_unknown_model_and_unreachable_site(site: tuple[str, Path], tmp_path: Path) -> None:
    base_url, _root = site
    with pytest.raises(DownloadError, match="not in the official model list"):
        download_model(tmp_path / "models", "vosk-model-imaginary", base_url=base_url)
    with pytest.raises(DownloadError, match="could not reach"):
        download_model(tmp_path / "models", NAME, base_url="http://127.0.0.1:9/")
