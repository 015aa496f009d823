"""Small plane-geometry helpers shared by the drawing and the night-time checks."""

from __future__ import annotations

import numpy as np


def densify(points, step: float, closed: bool = True) -> np.ndarray:
    """Points every `step` (or closer) along a polyline, its vertices kept: lines stay lines once
    mapped through a lens with distortion. Closed: the last vertex joins the first."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < 2:
        return points.copy()
    starts = points if closed else points[:-1]
    ends = np.roll(points, -1, axis=0) if closed else points[1:]
    counts = np.maximum((np.linalg.norm(ends - starts, axis=1) / step).astype(int), 1)
    segment = np.repeat(np.arange(len(starts)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    t = (within / counts[segment])[:, None]
    out = starts[segment] + (ends - starts)[segment] * t
    return out if closed else np.vstack([out, points[-1:]])
