"""`voicecart catalog import`: streaming, idempotent upserts, per-row errors, all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.errors import CatalogError
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


def _row(sku: str, name: str, *, price: str = "399", stock: str = "20", synonyms: str = "",
         popularity: str = "5") -> str:  # fmt: skip
    return f"{sku},{name},Brewco,16 oz,{price},{stock},beverages,{synonyms},{popularity}\n"


def _stored_text(session: Session) -> list[str]:
    """Every text the importer writes, for checking that nothing unsafe landed."""
    out: list[str] = []
    for p in session.scalars(select(Product)):
        out += [p.sku, p.name, p.brand, p.size, p.category, *p.synonyms]
    return out


def test_a_nul_byte_skips_only_its_row(tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    """PostgreSQL text cannot hold NUL: one such row used to abort the whole import there."""
    path = _write(
        tmp_path,
        "products.csv",
        HEADER
        + _row("N-1", "Kombucha Ginger")
        + _row("N-2", "Cold\x00Brew")
        + _row("N\x003", "Oat Latte")
        + _row("N-4", "Mango Kombucha", synonyms="booch|ma\x00ngo")
        + "N-5,Chai,Brew\x00co,16 oz,399,20,beverages,,5\n"
        + _row("N-6", "Lemonade"),
    )
    with sessions.begin() as session:
        report = import_catalog(session, path, ImportFormat.CSV)
    assert report.created == 2
    assert [(p.line, p.reason.split(" ")[0]) for p in report.skipped] == [
        (3, "name"), (4, "sku"), (5, "synonym"), (6, "brand"),
    ]  # fmt: skip
    assert all("NUL" in p.reason for p in report.skipped)
    with sessions() as session:
        assert {"N-1", "N-6"} <= set(_stored_text(session))
        assert not any("\x00" in text for text in _stored_text(session))


def test_a_nul_byte_in_an_instacart_name_skips_only_its_row(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    path = _write(
        tmp_path,
        "products.csv",
        "product_id,product_name,aisle_id,department_id\n1,Soda\x00Water,1,7\n2,Seltzer,1,7\n",
    )
    with sessions.begin() as session:
        report = import_catalog(session, path, ImportFormat.INSTACART)
    assert report.created == 1
    assert [p.line for p in report.skipped] == [2]
    assert "NUL" in report.skipped[0].reason


REFUSED_CHARACTERS = ["\x1b", "\x07", "\x01", "\x7f", "\x85", "\x9b", "\t", "\u202e", "\u202d",
                      "\u202a", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
                      "\u061c", "\u200b", "\u2060", "\ufeff", "\u2028", "\u2029", "\U000e0041",
                      "\ue000"]  # fmt: skip
"""Controls, bidi overrides and isolates, invisible marks, line separators, tag and
private-use characters: in a name they hide, reorder or garble what pages, e-mails and
terminals show (and Alexa reads), so a row holding one is refused, never cleaned."""
ACCEPTED_NAMES = ["Jalapeño Crème Brûlée", "Southern Butter Pecan\xa0Gelato", "Brut Rosé™",
                  "Family \U0001f468\u200d\U0001f469\u200d\U0001f467 Pack", "نعناع Mint",
                  "Roasted 海苔 Snacks"]  # fmt: skip
"""Accents, symbols, a no-break space (real Instacart names have them), emoji joined by
ZWJ, right-to-left and CJK letters: all fine."""


def test_control_and_bidi_characters_in_text_refuse_the_row(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    rows = [_row(f"C-{i}", f"Cold{char}Brew") for i, char in enumerate(REFUSED_CHARACTERS)]
    rows += [_row(f"OK-{i}", name) for i, name in enumerate(ACCEPTED_NAMES)]
    rows.append(_row("S-1", "Soda", synonyms="pop|fizzy\u202edrink"))
    rows.append("S-2,Soda,Brewco,16\x1b[2Joz,399,20,beverages,,5\n")
    path = _write(tmp_path, "products.csv", HEADER + "".join(rows))
    with sessions.begin() as session:
        report = import_catalog(session, path, ImportFormat.CSV)
    assert report.created == len(ACCEPTED_NAMES)
    assert [p.line for p in report.skipped] == [
        *range(2, 2 + len(REFUSED_CHARACTERS)),
        len(rows), len(rows) + 1,
    ]  # fmt: skip
    for problem, char in zip(report.skipped, REFUSED_CHARACTERS, strict=False):
        assert problem.reason.startswith("name contains ")
        assert f"U+{ord(char):04X}" in problem.reason
        assert problem.reason.isprintable()  # the CLI prints it: no raw controls
    with sessions() as session:
        stored = _stored_text(session)
        assert set(ACCEPTED_NAMES) <= set(stored)
        for char in REFUSED_CHARACTERS:
            assert not any(char in text for text in stored), repr(char)


def test_importer_limits_match_the_database_columns() -> None:
    from sqlalchemy import String

    from catalog import importer

    names = ("sku", "name", "brand", "size", "category")
    types = [Product.__table__.columns[name].type for name in names]
    assert [t.length if isinstance(t, String) else None for t in types] == [
        importer.MAX_SKU, importer.MAX_NAME, importer.MAX_BRAND, importer.MAX_SIZE,
        importer.MAX_CATEGORY,
    ]  # fmt: skip


def test_an_overlong_field_skips_only_its_row(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    """Python's csv refuses a field over 131,072 characters; that refused the whole file."""
    path = _write(
        tmp_path,
        "products.csv",
        HEADER
        + _row("L-1", "Kombucha Ginger")
        + _row("L-2", "x" * 131_073)
        + _row("L-3", "Cold Brew", synonyms="|".join(["booch"] * 40_000))
        + _row("L-4", '"' + "y" * 200_000 + '"')
        + _row("L-5", "é" * 201)
        + _row("L-6", "é" * 200)  # the column's length in characters, not bytes
        + _row("L-7", "Oat Latte", synonyms="s" * 201)
        + _row("L-8", "Mango " + "\U0001f96d" * 150_000)  # > 512 KiB: never read whole
        + _row("L-9", "Lemonade"),
    )
    seen: list[int] = []
    with sessions.begin() as session:
        report = import_catalog(session, path, ImportFormat.CSV, progress=seen.append)
    assert sum(seen) == path.stat().st_size
    assert [(p.line, p.reason.split(" ")[0]) for p in report.skipped] == [
        (3, "row"), (4, "row"), (5, "row"), (6, "name"), (8, "synonym"), (9, "row"),
    ]  # fmt: skip
    assert "longer than" in report.skipped[0].reason
    assert len(report.skipped[0].reason) < 200
    assert report.created == 3
    with sessions() as session:
        assert {"L-1", "L-6", "L-9", "é" * 200} <= set(_stored_text(session))


@pytest.mark.parametrize(
    ("departments", "fragment"),
    [
        (b"department_id,department\n7,bebidas \xe9\n",
         r"departments\.csv: line 2: not valid UTF-8"),
        (b"\xff\xfe7,x\n", r"departments\.csv: line 1: not valid UTF-8"),
        (b"id,name\n7,beverages\n", r"departments\.csv: header is id,name; needs department_id,"),
        (b"", r"departments\.csv: header is empty"),
        (b"department_id,department\n7,bev\x1berages\n", r"departments\.csv: line 2: department "
                                                       r"contains U\+001B"),
        (b"department_id,department\n7," + b"b" * 61 + b"\n", r"departments\.csv: line 2: "
                                                           r"department is longer than 60"),
        (b"department_id,department\n\xd9\xa7,beverages\n", r"departments\.csv: line 2: "
                                                         "department_id '\u0667' is not a whole"),
        (b"department_id,department\n7\n", r"departments\.csv: line 2: expected 2 fields"),
        (b'department_id,department\n7,"beverages\n', r"departments\.csv: line 2: .*not closed"),
    ],
)  # fmt: skip
def test_a_broken_departments_file_is_a_clear_import_file_error(
    tmp_path: Path, sessions: sessionmaker[Session], departments: bytes, fragment: str
) -> None:
    _write(tmp_path, "departments.csv", departments)
    path = _write(tmp_path, "products.csv", "product_id,product_name,aisle_id,department_id\n"
                                            "1,Seltzer,1,7\n")  # fmt: skip
    with sessions() as session:
        before = _count(session)
    with pytest.raises(ImportFileError, match=fragment) as raised, sessions.begin() as session:
        import_catalog(session, path, ImportFormat.INSTACART)
    assert raised.value.path == tmp_path / "departments.csv"
    assert isinstance(raised.value, CatalogError)
    with sessions() as session:
        assert _count(session) == before


@pytest.mark.parametrize(
    ("history", "fragment"),
    [
        (b"user_id,product_id\n1,2\n1,\xe92\n", r"user_prior_histories\.csv: line 3: not valid"),
        (b"user_id,order_id\n1,2\n", r"user_prior_histories\.csv: header .* needs product_id"),
    ],
)
def test_a_broken_order_history_is_a_clear_import_file_error(
    tmp_path: Path, sessions: sessionmaker[Session], history: bytes, fragment: str
) -> None:
    _write(tmp_path, "user_prior_histories.csv", history)
    path = _write(tmp_path, "products.csv", "product_id,product_name,aisle_id,department_id\n"
                                            "1,Seltzer,1,7\n")  # fmt: skip
    with pytest.raises(ImportFileError, match=fragment), sessions.begin() as session:
        import_catalog(session, path, ImportFormat.INSTACART)


def test_odd_ids_in_the_order_history_are_not_counted(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    """'²' passes str.isdigit() but not int(); '\u0662' and '2_0' pass int(): none is an id."""
    _write(tmp_path, "user_prior_histories.csv",
           "user_id,product_id\n1,2\n1,²\n1,\u0662\n1,2_0\n1,\n1\n")  # fmt: skip
    _write(tmp_path, "aisles.csv", b"\xff\xfe not read by the importer")
    path = _write(tmp_path, "products.csv", "product_id,product_name,aisle_id,department_id\n"
                                            "2,Seltzer,1,7\n20,Soda,1,7\n")  # fmt: skip
    with sessions.begin() as session:
        import_catalog(session, path, ImportFormat.INSTACART)
    with sessions() as session:
        bought = {p.sku: p.popularity for p in session.scalars(select(Product))
                  if p.sku.startswith("IC-")}  # fmt: skip
    assert bought == {"IC-2": 1, "IC-20": 0}


def test_cli_prints_a_broken_side_file_as_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    _write(tmp_path, "departments.csv", b"department_id,department\n7,caf\xe9\n")
    path = _write(tmp_path, "products.csv", "product_id,product_name,aisle_id,department_id\n"
                                            "1,Seltzer,1,7\n")  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "voicecart", "catalog", "import", str(path),
         "--format", "instacart"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
             "VOICECART_INSTANCE_DIR": str(tmp_path)},
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: nothing imported: {tmp_path / 'departments.csv'}: line 2: not "
                      "valid UTF-8 (invalid continuation byte)"]  # fmt: skip


@pytest.mark.parametrize(
    ("column", "value"),
    [("price_cents", "1_000"), ("price_cents", "\u0661\u0662"), ("price_cents", "\uff11\uff12"),
     ("price_cents", "+12"), ("price_cents", "12.5"), ("price_cents", "1e3"),
     ("price_cents", "²"), ("price_cents", "0x10"), ("price_cents", "1" * 5000),
     ("stock", "1_0"), ("stock", "\u0663"), ("stock", "\u00a012"), ("popularity", "\uff15"),
     ("popularity", "1 000")],
)  # fmt: skip
def test_numbers_are_ascii_digits_only(column: str, value: str) -> None:
    """int() reads '1_000', Arabic-Indic and full-width digits; a catalogue file must not."""
    from catalog.importer import RowProblem, read_rows

    fields = {"sku": "D-1", "name": "Soda", "brand": "", "size": "", "price_cents": "399",
              "stock": "20", "category": "", "synonyms": "", "popularity": "5"}  # fmt: skip
    fields[column] = value
    lines = [HEADER, ",".join(fields.values()) + "\n", _row("D-2", "Seltzer", price=" 12 ")]
    rows = list(read_rows(lines, ImportFormat.CSV, Path("x.csv")))
    problem = rows[0][1]
    assert isinstance(problem, RowProblem) and problem.line == 2
    assert problem.reason.startswith(f"{column} ")
    assert len(problem.reason) < 200
    assert not isinstance(rows[1][1], RowProblem) and rows[1][1].price_cents == 12


@pytest.mark.parametrize(
    ("column", "value"),
    [("product_id", "\u0661\u0662"), ("product_id", "1_2"), ("product_id", "\uff11"),
     ("department_id", "\u0667"), ("aisle_id", "1_1")],
)  # fmt: skip
def test_instacart_ids_are_ascii_digits_only(column: str, value: str) -> None:
    from catalog.importer import RowProblem, _instacart_parser, read_rows

    fields = {"product_id": "12", "product_name": "Soda", "aisle_id": "1", "department_id": "7"}
    fields[column] = value
    lines = ["product_id,product_name,aisle_id,department_id\n", ",".join(fields.values())]
    parse = _instacart_parser({"7": "beverages"}, 399, 100, {})
    [(line, problem)] = read_rows(lines, ImportFormat.INSTACART, Path("p.csv"), parse=parse)
    assert isinstance(problem, RowProblem) and line == 2
    assert problem.reason.startswith(f"{column} ")


def test_an_unterminated_quote_is_reported_where_it_starts(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    """It used to swallow the rows after it, up to the next quote, and was reported there."""
    path = _write(
        tmp_path,
        "products.csv",
        HEADER
        + _row("Q-1", '"Kombucha Ginger')  # line 2: the closing quote is missing
        + _row("Q-2", "Cold Brew")
        + _row("Q-3", '"Oat ""Barista"" Latte"')
        + _row("Q-4", '"Mango\nKombucha"')  # lines 5-6: a line break inside a name
        + _row("Q-5", "Lemonade")
        + _row("Q-6", '"6\\"" Pitas"')
        + 'Q-7,"Chai,Brewco,16 oz,399,20,beverages,,5\n'  # line 9, then a row with a quote
        + 'Q-8,"Hibiscus",Brewco,16 oz,399,20,beverages,,5\n'
        + _row("Q-9", '"Iced Tea'),  # the last line
    )
    with sessions.begin() as session:
        report = import_catalog(session, path, ImportFormat.CSV)
    problems = [(p.line, p.reason) for p in report.skipped]
    assert [line for line, _ in problems] == [2, 5, 9, 11]
    assert "quoted name" in problems[0][1] and "not closed" in problems[0][1]
    assert "lines 5-6" in problems[1][1] and "line break" in problems[1][1]
    assert report.created == 5
    with sessions() as session:
        stored = set(_stored_text(session))
    assert {"Cold Brew", 'Oat "Barista" Latte', "Lemonade", '6" Pitas', "Hibiscus"} <= stored


def test_an_unterminated_quote_in_the_header_refuses_the_file(tmp_path: Path) -> None:
    from catalog.importer import read_rows

    with pytest.raises(ImportFileError, match=r"line 1: .*not closed"):
        list(read_rows(['sku,"name,brand\n', "x\n"], ImportFormat.CSV, Path("x.csv")))
