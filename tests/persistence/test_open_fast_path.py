"""Opening a SQLite database already at head needs neither Alembic nor the PostgreSQL dialect: together
about 0.2 s of imports that every command would pay."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tournament.persistence.database import _scripted_head, head_revision, open_database

PROBE = """
import json, sys
from tournament.persistence.database import open_database
open_database(sys.argv[1]).close()
heavy = ("alembic", "sqlalchemy.dialects.postgresql")
print(json.dumps(sorted(name for name in sys.modules if name.startswith(heavy))))
"""


def test_head_read_from_the_migration_files_is_alembics_head() -> None:
    assert _scripted_head() == head_revision()


def test_opening_a_sqlite_database_at_head_imports_no_migration_or_postgresql_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'at-head.db'}"
    open_database(url).close()
    result = subprocess.run(
        [sys.executable, "-c", PROBE, url], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
