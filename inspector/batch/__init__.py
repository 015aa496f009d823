"""The overnight batch over CCTV snapshots (`desk-inspector batch`): site file, snapshot discovery,
night-time frame checks, a worker-process runner writing the shared history, and the morning report.

Names are imported lazily: a worker process needs only `inspector.batch.worker`, and starts faster
without the runner's database and console imports."""

__all__ = ["BatchSummary", "Site", "SiteError", "load_site", "run_batch"]


def __getattr__(name: str):
    if name in ("BatchSummary", "run_batch"):
        from inspector.batch import runner

        return getattr(runner, name)
    if name in ("Site", "SiteError", "load_site"):
        from inspector.batch import site

        return getattr(site, name)
    raise AttributeError(name)
