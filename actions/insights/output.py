"""Writing the report: everything into a scratch folder beside DIR, then moved into place, so a
report that fails half-way leaves DIR as it was."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from pathlib import Path

from actions.insights import charts, page, tables
from actions.insights.report import Report


def write_csv(table: tables.Table, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(table.headers)
        writer.writerows(table.rows)


def write_report(report: Report, out: Path) -> list[Path]:
    """DIR/index.html, its PNG charts and a CSV per table; the files written."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        made = tables.all_tables(report)
        for table in made.values():
            write_csv(table, scratch / f"{table.name}.csv")
        drawn = charts.draw_all(report, scratch)
        (scratch / "index.html").write_text(page.render(report, made, drawn), encoding="utf-8")
        if not out.exists():
            os.replace(scratch, out)
            return sorted(out.iterdir())
        out.mkdir(exist_ok=True)  # a file named DIR: FileExistsError, shown as such
        written = []
        for path in sorted(scratch.iterdir()):
            os.replace(path, out / path.name)
            written.append(out / path.name)
        return written
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
