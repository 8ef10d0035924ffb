"""The proof of an erasure (issue 15): after erasing a person whose e-mail and name are
distinctive strings, none of them is left in the database's bytes.

- SQLite: the raw bytes of the database file, its write-ahead log and its shared-memory
  index (secure_delete zeroes deleted content; the erasure truncates the log).
- PostgreSQL: after the documented step (`gdpr.vacuum`: a VACUUM of the changed tables),
  every tuple of every page of those tables and of their TOAST tables, live or dead, read
  with pageinspect's heap_page_items, and every item of their B-tree indexes
  (bt_page_items), holds none of them.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import make_url, text
from tests.gdpr.conftest import EMAIL, SECRETS, Person

from leadscore.service import gdpr
from leadscore.store.gdpr import VACUUMED


def _found(data: bytes, lead_id: str) -> dict[str, int]:
    return {s: data.count(s.encode()) for s in (*SECRETS, lead_id)}


def _sqlite_bytes(url: str) -> dict[str, bytes]:
    path = Path(str(make_url(url).database))
    files = {suffix: Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")}
    return {s: f.read_bytes() for s, f in files.items() if f.exists()}


def _heap_tuples(conn, table: str) -> list[bytes]:
    """t_data of every tuple (live, dead or recently dead) on every page of `table`."""
    pages = conn.scalar(
        text("SELECT pg_relation_size(:t) / current_setting('block_size')::int"), {"t": table}
    )
    found: list[bytes] = []
    for page in range(pages):
        rows = conn.execute(
            text(
                "SELECT t_data FROM heap_page_items(get_raw_page(:t, :n)) WHERE t_data IS NOT NULL"
            ),
            {"t": table, "n": page},
        )
        found.extend(bytes(r[0]) for r in rows)
    return found


def _relations(conn) -> list[str]:
    """The erased tables and their TOAST tables."""
    names = list(VACUUMED)
    for table in VACUUMED:
        toast = conn.scalar(
            text(
                "SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = CAST(:t AS regclass) AND reltoastrelid <> 0"
            ),
            {"t": table},
        )
        if toast:
            names.append(toast)
    return names


def _index_tuples(conn, tables: list[str]) -> list[bytes]:
    """The key of every item on every page (past the meta page) of the B-tree indexes of
    `tables` (the e-mail's unique index among them)."""
    indexes = conn.scalars(
        text(
            "SELECT i.indexrelid::regclass::text FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
            " WHERE a.amname = 'btree' AND i.indrelid = ANY(CAST(:t AS regclass[]))"
        ),
        {"t": tables},
    ).all()
    found: list[bytes] = []
    for index in indexes:
        pages = conn.scalar(
            text("SELECT pg_relation_size(:t) / current_setting('block_size')::int"), {"t": index}
        )
        for page in range(1, pages):
            rows = conn.execute(
                text("SELECT data FROM bt_page_items(get_raw_page(:t, :n))"),
                {"t": index, "n": page},
            )
            found.extend(bytes.fromhex(r[0].replace(" ", "")) for r in rows if r[0])
    return found


def _postgres_tuples(api) -> bytes:
    """Every tuple of the erased tables, their TOAST tables and their B-tree indexes."""
    with api.ctx.db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        heap = [t for name in _relations(conn) for t in _heap_tuples(conn, name)]
        index = _index_tuples(conn, list(VACUUMED))
    return b"\x00".join(heap + index)


def test_no_byte_of_the_person_is_left(api, person: Person) -> None:
    db = api.ctx.db
    before = b"".join(_sqlite_bytes(db.url).values()) if db.is_sqlite else _postgres_tuples(api)
    assert all(n > 0 for n in _found(before, person.lead_id).values()), "the scan sees them"

    reply = api.admin.delete(f"/leads/{person.lead_id}", params={"erase": "true"})
    assert reply.status_code == 200, reply.text
    report = reply.json()
    removed = report["removed"]
    assert removed["events"] == 3 and removed["leads"] == 1 and removed["overrides"] == 2
    assert removed["outbox"] >= 1 and removed["list_members"] == 1 and removed["score_history"] > 0

    if db.is_sqlite:
        assert report["log_truncated"] is True
        files = _sqlite_bytes(db.url)
        assert "-wal" in files, "the server is running: its log is there, and was read"
        for suffix, data in files.items():
            found = _found(data, person.lead_id)
            print(f"sqlite{suffix or ' file'}: {len(data):,} bytes, found {found}")
            assert not any(found.values()), (suffix, found)
    else:
        assert report["vacuum_needed"] is True
        dead = _found(_postgres_tuples(api), person.lead_id)
        print(f"postgresql before VACUUM (dead tuples): found {dead}")
        assert dead[EMAIL] > 0, "the deleted rows are still dead tuples"
        done = gdpr.vacuum(api.ctx)
        after = _postgres_tuples(api)
        found = _found(after, person.lead_id)
        print(
            f"postgresql after VACUUM ({done['seconds']} s): {len(after):,} tuple bytes, found {found}"
        )
        assert not any(found.values()), found
    # the other lead is untouched
    assert api.get(f"/leads/{person.other_id}")["email"] == "someone-else@example.com"
