"""The `batch` command's body, shared by `desk-inspector batch` and `python -m inspector.batch`:
runs the night, prints the summary line, and turns errors into exit codes
(0 all compliant, 1 violations found or results to check by eye, 2 setup or usage error)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.errors import InspectorError

EXIT_OK, EXIT_VIOLATIONS, EXIT_SETUP = 0, 1, 2


def batch_main(
    site: str | Path,
    out: str | Path = "out/batch",
    workers: int | None = None,
    force: bool = False,
    db: str | None = None,
    since: str | None = None,
    until: str | None = None,
    night: str | None = None,
    pictures: str = "changes",
    progress: bool = True,
) -> int:
    from rich.console import Console
    from rich.markup import escape

    from inspector.batch.runner import run_batch

    err = Console(stderr=True, highlight=False)
    try:
        summary = run_batch(site, out, workers=workers, force=force, since=since, until=until, night=night,
                            database_url=db, progress=progress, pictures=pictures)
    except InspectorError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", markup=True)
        return EXIT_SETUP
    except KeyboardInterrupt:
        err.print("interrupted: every finished snapshot is saved; run the same command again to finish the night")
        return 130
    print(summary.line(), flush=True)
    return summary.exit_code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="desk-inspector batch", description="Overnight batch over CCTV snapshots: "
                                "inspect every new snapshot of a site and write the morning report.")
    p.add_argument("site", help="site file (YAML/JSON): halls, cameras, calibrations, standards, snapshot folders")
    p.add_argument("--out", "-o", default="out/batch", help="output folder for the report and pictures (default out/batch)")
    p.add_argument("--workers", "-w", type=int, default=None, help="worker processes (default: one per core, at most 8)")
    p.add_argument("--force", action="store_true", help="re-inspect snapshots already in the history (replaces their rows)")
    p.add_argument("--db", default=None, help="history database URL (default: the site file's, "
                   "$DESK_INSPECTOR_DATABASE_URL, else sqlite:///OUT/history.db)")
    p.add_argument("--since", default=None, help="only snapshots captured at or after this time (ISO date or date-time)")
    p.add_argument("--until", default=None, help="only snapshots captured before this time")
    p.add_argument("--night", default=None, help="only the snapshots of this night (YYYY-MM-DD)")
    p.add_argument("--pictures", choices=("changes", "violations", "all", "none"), default="changes",
                   help="annotated photos for: changes (default: where one of a window's violations starts), "
                   "violations (every snapshot with violations), all (photo and desk map for every snapshot), none")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return batch_main(args.site, args.out, args.workers, args.force, args.db, args.since, args.until, args.night,
                      args.pictures, args.progress)


if __name__ == "__main__":
    sys.exit(main())
