"""What a database holds in its files: for checks that a value never reached them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from plugin.storage.db import get_engine


def database_text(url: str) -> bytes:
    """Every byte of the SQLite files, or the text of every PostgreSQL table."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
    with get_engine(url).connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        dumps = [
            conn.execute(
                text(f"SELECT coalesce(string_agg(t::text, '|'), '') FROM \"{n}\" t")
            ).scalar_one()
            for n in list(tables)
        ]
    return "\n".join(dumps).encode()
