"""`voicecart catalog import`: streaming, idempotent upserts, per-row errors, all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.importer import ImportFileError, ImportFormat, import_catalog
from catalog.matching import CatalogMatcher
from catalog.models import Product

HEADER = "sku,name,brand,size,price_cents,stock,category,synonyms,popularity\n"


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count(Product.id))) or 0)


def test_import_upserts_and_reports_bad_rows(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    path = _write(
        tmp_path,
        "products.csv",
        HEADER
        + "T-1,Kombucha Ginger,Brewco,16 oz,399,20,beverages,ginger tea|booch,5\n"
        + "T-2,,Brewco,16 oz,399,20,beverages,,5\n"  # empty name
        + "T-3,Cold Brew,Brewco,32 oz,lots,20,beverages,,5\n"  # bad price
        + "T-4,Oat Latte,Brewco,12 oz,499,-3,beverages,,5\n"  # negative stock
        + "T-1,Kombucha Again,Brewco,16 oz,399,20,beverages,,5\n"  # repeated sku
        + "T-5,Short Row\n"  # too few fields
        + "T-6,Mango Kombucha,Brewco,16 oz,429,15,beverages,,3\n",
    )
    seen: list[int] = []
    with sessions.begin() as session:
        before = _count(session)
        report = import_catalog(session, path, ImportFormat.CSV, progress=seen.append)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert [(p.line, p.reason.split(" ")[0]) for p in report.skipped] == [
        (3, "name"), (4, "price_cents"), (5, "stock"), (6, "sku"), (7, "expected"),
    ]  # fmt: skip
    assert sum(seen) == path.stat().st_size
    with sessions() as session:
        assert _count(session) == before + 2
        product = session.scalars(select(Product).where(Product.sku == "T-1")).one()
        assert product.synonyms == ["ginger tea", "booch"]
        # The running matcher sees the new products without a restart.
        assert CatalogMatcher().match(session, "booch").best is not None

    with sessions.begin() as session:
        again = import_catalog(session, path, ImportFormat.CSV)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_update_changes_price_but_never_resets_stock(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    first = _write(tmp_path, "a.csv", HEADER + "T-9,Granola,Acme,1 lb,500,10,pantry,,1\n")
    second = _write(tmp_path, "b.csv", HEADER + "T-9,Granola,Acme,1 lb,550,99,pantry,,1\n")
    with sessions.begin() as session:
        import_catalog(session, first, ImportFormat.CSV)
    with sessions.begin() as session:
        session.execute(update(Product).where(Product.sku == "T-9").values(stock=4))
    with sessions.begin() as session:
        report = import_catalog(session, second, ImportFormat.CSV)
    assert report.updated == 1
    with sessions() as session:
        granola = session.scalars(select(Product).where(Product.sku == "T-9")).one()
        assert (granola.price_cents, granola.stock) == (550, 4)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("name,price\nx,1\n", "header is name,price"),
        ("", "header is empty"),
        ('sku,name\n"unterminated\0', "header is sku,name"),
        (b"\xff\xfe\x00\x01garbage", "line 1: not valid UTF-8"),
        (HEADER.encode() + b"T-1,Caf\xe9,Acme,1,1,1,x,,1\n", "line 2: not valid UTF-8"),
        (  # a bad byte far into the file, after rows that were already valid
            (HEADER + "".join(f"G-{i},Good {i},Acme,1,1,1,x,,1\n" for i in range(2000))).encode()
            + b"T-1,Caf\xe9,Acme,1,1,1,x,,1\n",
            "line 2002: not valid UTF-8",
        ),
    ],
)
def test_unimportable_file_writes_nothing(
    tmp_path: Path, sessions: sessionmaker[Session], content: str | bytes, fragment: str
) -> None:
    path = _write(tmp_path, "bad.csv", content)
    with sessions() as session:
        before = _count(session)
    with pytest.raises(ImportFileError, match=fragment), sessions.begin() as session:
        import_catalog(session, path, ImportFormat.CSV)
    with sessions() as session:
        assert _count(session) == before


def test_instacart_format(tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    """A file in Instacart's layout (written here; the real data stays in ../shared)."""
    _write(tmp_path, "departments.csv", "department_id,department\n7,beverages\n")
    path = _write(
        tmp_path,
        "products.csv",
        "product_id,product_name,aisle_id,department_id\n"
        '1,"Sparkling Water, Lime",115,7\n'
        '2,"6\\"" Mini Pitas",128,7\n'
        "x,Broken Id,1,7\n",
    )
    with sessions.begin() as session:
        report = import_catalog(session, path, ImportFormat.INSTACART, default_price_cents=250)
    assert report.created == 2
    assert [p.line for p in report.skipped] == [4]
    with sessions() as session:
        pita = session.scalars(select(Product).where(Product.sku == "IC-2")).one()
        assert pita.name == '6" Mini Pitas'
        assert (pita.price_cents, pita.category) == (250, "beverages")
        assert pita.popularity == 0  # no order history beside the file


def test_instacart_order_history_beside_the_file_sets_popularity(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    """Twins and near-twins are told apart by how often shoppers bought them."""
    path = _write(
        tmp_path,
        "products.csv",
        "product_id,product_name,aisle_id,department_id\n"
        "1,Sparkling Water Berry,115,7\n2,Berry Sparkling Water,115,7\n",
    )
    _write(
        tmp_path,
        "user_prior_histories.csv",
        "user_id,order_id,product_id,product_name\n"
        "1,10,2,Berry Sparkling Water\n1,11,2,Berry Sparkling Water\n2,12,1,x\n3,13,,x\n",
    )
    with sessions.begin() as session:
        import_catalog(session, path, ImportFormat.INSTACART)
    with sessions() as session:
        bought = {p.sku: p.popularity for p in session.scalars(select(Product))
                  if p.sku.startswith("IC-")}  # fmt: skip
    assert bought == {"IC-1": 1, "IC-2": 2}
