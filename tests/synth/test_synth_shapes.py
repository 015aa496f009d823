"""Meshes: every class builds a closed convex-part mesh inside its size box."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon

from inspector.classes import CANONICAL_CLASSES, CLASS_PRIORS_CM
from models.synth.scene import CLUTTER_KINDS, ItemSpec
from models.synth.shapes import build_local, build_mesh

ALL = [(c, CLASS_PRIORS_CM[c]) for c in CANONICAL_CLASSES] + list(CLUTTER_KINDS.items())


@pytest.mark.parametrize("name,prior", ALL, ids=[a for a, _ in ALL])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_mesh_fits_its_box_and_parts_are_convex(name, prior, seed):
    w, d, h = prior
    spec = ItemSpec(name, (0.0, 0.0), (w, d), h, appearance_seed=seed)
    parts = build_local(spec)
    v = np.vstack([p.vertices for p in parts])
    eps = 1e-6
    assert v[:, 0].min() >= -w / 2 - eps and v[:, 0].max() <= w / 2 + eps
    assert v[:, 1].min() >= -d / 2 - eps and v[:, 1].max() <= d / 2 + eps
    assert v[:, 2].min() >= -eps and v[:, 2].max() == pytest.approx(h)
    for part in parts:
        pv = part.vertices
        for f in part.faces:
            # outward normal: no vertex of the part lies outside the face plane
            assert np.all((pv - f.vertices[0]) @ f.normal <= 1e-6)


def test_mesh_truth_follows_yaw_and_position():
    spec = ItemSpec("keyboard", (60.0, 30.0), (44.0, 14.0), 3.0, yaw_deg=90.0)
    mesh = build_mesh(spec)
    fp = Polygon(mesh.footprint_cm())
    assert mesh.height_cm == pytest.approx(3.0)
    assert fp.area == pytest.approx(44.0 * 14.0)
    minx, miny, maxx, maxy = fp.bounds
    assert (minx, miny, maxx, maxy) == pytest.approx((53.0, 8.0, 67.0, 52.0))
    assert mesh.front_margin_cm() == pytest.approx(8.0)


def test_same_spec_same_mesh():
    spec = ItemSpec("brochure", (20.0, 20.0), (21.0, 15.0), 2.0, appearance_seed=5)
    a, b = build_mesh(spec), build_mesh(spec)
    assert np.array_equal(a.vertices, b.vertices)
    ta = [f.texture.image for p in a.parts for f in p.faces if f.texture is not None]
    tb = [f.texture.image for p in b.parts for f in p.faces if f.texture is not None]
    assert len(ta) == len(tb) and all(np.array_equal(x, y) for x, y in zip(ta, tb))
