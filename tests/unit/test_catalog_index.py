"""The catalogue index as files: built once per revision, memory-mapped by every worker,
swapped in when ready, never rebuilt on the request path."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from catalog.index import IndexEntry, ProductIndex
from catalog.matching import CatalogMatcher, build_index_folder, match_text
from catalog.models import Product
from catalog.revision import current_revision

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ("whole milk", "sparkling water berry", "tooth paste", "catsup", "organic bananas",
           "pepperoni pizza", "mozza rella", "dragon fruit", "", "2 percent milk")  # fmt: skip


def test_a_saved_index_loads_memory_mapped_and_answers_the_same(tmp_path: Path) -> None:
    entries = [IndexEntry(7, "S-7", "Whole Milk", "Dairyco", "1 gal", ("milk",), 40, 399),
               IndexEntry(9, "S-9", "Berry Sparkling Water", popularity=3),
               IndexEntry(3, "S-3", "Sparkling Water Berry", in_stock=False),
               IndexEntry(4, "S-4", "Toothpaste", "Brightsmile"),
               IndexEntry(5, "S-5", "Tomato Ketchup", synonyms=("ketchup", "tomato sauce")),
               IndexEntry(6, "S-6", "Organic Bananas"), IndexEntry(8, "S-8", "Pepperoni Pizza"),
               IndexEntry(2, "S-2", "Shredded Mozzarella"),
               IndexEntry(1, "S-1", "2% Reduced Fat Milk")]  # fmt: skip
    built = ProductIndex(entries)
    built.save(tmp_path / "ix")
    loaded = ProductIndex.load(tmp_path / "ix")
    assert len(loaded) == len(built) == len(entries)
    assert list(loaded.entries) == entries  # every field survives the round trip
    assert (loaded.row_of[9], 1234 in loaded.row_of) == (1, False)
    for query in QUERIES:
        assert match_text(loaded, query) == match_text(built, query), query
    assert isinstance(loaded.tiebreak, np.memmap)  # mapped, not copied


def _add(sessions: sessionmaker[Session], sku: str, name: str) -> int:
    with sessions.begin() as db:
        db.add(Product(sku=sku, name=name, brand="Acme", size="", price_cents=100, stock=5,
                       category="test", synonyms=[], popularity=1))  # fmt: skip
        db.flush()
        return current_revision(db)


def test_workers_load_the_built_index_and_an_edit_never_waits_for_a_rebuild(
    tmp_path: Path, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "index"
    first = CatalogMatcher(folder)
    with sessions() as db:  # nothing on disk yet: built once on the spot, saved behind it
        assert first.match(db, "bananas").best is not None
    first.wait_for_build(30)
    with sessions() as db:
        revision = current_revision(db)
    assert (folder / f"revision-{revision}").is_dir()

    build = ProductIndex.__init__

    def no_building(index: ProductIndex, entries: Iterable[IndexEntry]) -> None:
        if threading.current_thread() is threading.main_thread():
            raise AssertionError("the index was built on the request path")
        build(index, entries)  # the background builder may

    monkeypatch.setattr(ProductIndex, "__init__", no_building)
    second = CatalogMatcher(folder)  # another worker: it loads, it does not build
    with sessions() as db:
        assert second.match(db, "bananas").best is not None

    edited = _add(sessions, "Z-1", "Dragonfruit Kombucha")  # committed elsewhere
    with sessions() as db:  # the old index answers at once while the new one is built
        assert second.match(db, "dragonfruit kombucha").best is None or (
            second.match(db, "dragonfruit kombucha").best.sku != "Z-1"  # type: ignore[union-attr]
        )
    second.wait_for_build(30)
    assert (folder / f"revision-{edited}").is_dir()
    with sessions() as db:
        found = second.match(db, "dragonfruit kombucha").best
        assert found is not None and found.sku == "Z-1"
        assert first.match(db, "dragonfruit kombucha").best.sku == "Z-1"  # type: ignore[union-attr]
    monkeypatch.undo()


def test_old_revisions_are_removed_and_a_broken_folder_is_rebuilt(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    folder = tmp_path / "index"
    dead = folder / ".building-1-x"  # a builder that died an hour ago
    dead.mkdir(parents=True)
    os.utime(dead, (0, 0))
    for n in range(3):
        _add(sessions, f"Y-{n}", f"Yuzu Soda {n}")
        with sessions() as db:
            built, _ = build_index_folder(db, folder)
    kept = sorted(f.name for f in folder.iterdir() if f.name.startswith("revision-"))
    assert len(kept) == 2 and built.name in kept  # the newest and the one before
    assert not dead.exists()
    (built / "meta.json").write_text("{not json")
    matcher = CatalogMatcher(folder)
    with sessions() as db:  # unusable: set aside, answered from what else there is
        assert matcher.match(db, "yuzu soda 2").best is not None
    matcher.wait_for_build(30)
    with sessions() as db:
        found = matcher.match(db, "yuzu soda 2").best
        assert found is not None and found.sku == "Y-2"
    assert ProductIndex.load(built)  # rebuilt in place


def test_catalog_index_command_builds_the_current_revision(tmp_path: Path) -> None:
    env = {**os.environ, "VOICECART_INSTANCE_DIR": str(tmp_path)}
    seeded = subprocess.run([sys.executable, "-m", "voicecart", "seed", "--demo"], env=env,
                            cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    built = subprocess.run([sys.executable, "-m", "voicecart", "catalog", "index"], env=env,
                           cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "catalogue index: 318 products in" in built.stdout
    (made,) = [f for f in (tmp_path / "index").iterdir() if f.name.startswith("revision-")]
    assert len(ProductIndex.load(made)) == 318


def test_a_failing_build_is_not_retried_on_every_request(
    tmp_path: Path, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    tries = []

    def broken(session: Session, root: Path) -> None:
        tries.append(root)
        raise OSError("disk full")

    monkeypatch.setattr("catalog.matching.build_index_folder", broken)
    matcher = CatalogMatcher(tmp_path / "index")
    for _ in range(5):  # answered every time (built on the spot once), built in the back once
        with sessions() as db:
            assert matcher.match(db, "bananas").best is not None
        matcher.wait_for_build(30)
    assert len(tries) == 1


def test_twins_by_words_or_by_letters_share_a_group() -> None:
    from catalog.index import IndexEntry, twin_groups

    groups = twin_groups([
        IndexEntry(1, "a", "Yellow Pop Corn"), IndexEntry(2, "b", "Yellow Popcorn"),
        IndexEntry(3, "c", "Popcorn Yellow"), IndexEntry(4, "d", "Yellow Popcorn", size="2 lb"),
        IndexEntry(5, "e", "White Popcorn"),
    ])  # fmt: skip
    assert groups[0] == groups[1] == groups[2]  # letters, then words: twins of twins
    assert len({groups[0], groups[3], groups[4]}) == 3
