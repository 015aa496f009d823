import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.geometry import densify


def test_closed_square_gets_a_point_every_step_and_keeps_its_corners():
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    points = densify(square, 2.5)
    assert len(points) == 16  # 4 edges x 4 points, the closing point not repeated
    assert points[:5].tolist() == [[0, 0], [2.5, 0], [5, 0], [7.5, 0], [10, 0]]
    for corner in square:
        assert any(np.allclose(p, corner) for p in points)


def test_open_polyline_ends_on_its_last_vertex():
    points = densify([(0, 0), (3, 0)], 1.0, closed=False)
    assert points.tolist() == [[0, 0], [1, 0], [2, 0], [3, 0]]


def test_edges_shorter_than_the_step_keep_their_start_only():
    assert densify([(0, 0), (0.5, 0), (0.5, 0.5)], 2.0).tolist() == [[0, 0], [0.5, 0], [0.5, 0.5]]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-100, 100), st.floats(-100, 100)), min_size=2, max_size=8), st.floats(0.5, 20))
def test_gaps_stay_under_twice_the_step_and_every_vertex_is_kept(vertices, step):
    points = densify(vertices, step)
    gaps = np.linalg.norm(np.diff(np.vstack([points, points[:1]]), axis=0), axis=1)
    assert gaps.max() < 2 * step + 1e-9  # an edge is cut into whole steps, each at most 2x step
    for vertex in vertices:
        assert np.min(np.linalg.norm(points - np.asarray(vertex), axis=1)) < 1e-9
