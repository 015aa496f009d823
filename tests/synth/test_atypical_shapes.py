"""Atypical shapes: asked for explicitly, exact truth, and existing seeds render what they did."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
from shapely.geometry import MultiPoint, Polygon

from models.synth.render import render
from models.synth.scene import (
    ATYPICAL_CLASSES,
    MONITOR_ON_EDGE,
    MONITOR_ON_FOOT,
    CameraSpec,
    DeskSpec,
    ItemSpec,
    LightSpec,
    Scene,
    make_atypical,
    sample_scene,
)
from models.synth.shapes import ATYPICAL_BUILDERS, build_local, build_mesh

SMALL = (640, 360)  # keep the render fast

# (class, size, height, variant): the sizes make_atypical gives such things
ATYPICAL = [
    ("mouse", (6.5, 11.0), 2.5, None),
    ("telephone", (20.0, 18.0), 5.0, None),
    ("document_camera", (30.0, 20.0), 5.0, None),
    ("monitor", (55.0, 14.0), 33.0, MONITOR_ON_FOOT),
    ("monitor", (55.0, 9.0), 32.0, MONITOR_ON_EDGE),
    ("cup", (8.0, 8.0), 10.0, 0),  # variant 0 is the mug: atypical takes its handle off
]


def _rounded(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


# Digests of sample_scene(default_rng(seed)).to_dict() and the rng's next draw, taken with the
# renderer before atypical shapes existed: training data and old tests rely on them.
PINNED = {0: ("b0bb04694674f110", 0.14547353818653175), 1: ("c07aa95d0899195d", 0.6400105583176766),
          2: ("3a615015cce4eb48", 0.6591532237050874)}


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_existing_seeds_sample_the_same_scenes(seed):
    rng = np.random.default_rng(seed)
    scene = sample_scene(rng)
    digest = hashlib.sha256(json.dumps(_rounded(scene.to_dict()), sort_keys=True).encode()).hexdigest()[:16]
    assert (digest, rng.random()) == pytest.approx(PINNED[seed])
    again = np.random.default_rng(seed)
    assert sample_scene(again, atypical_share=0.0) == scene  # share 0 draws nothing more
    assert again.random() == pytest.approx(PINNED[seed][1])


def test_atypical_share_changes_only_the_chosen_items():
    for seed in range(6):
        plain = sample_scene(np.random.default_rng(seed))
        mixed = sample_scene(np.random.default_rng(seed), atypical_share=1.0)
        assert (mixed.camera, mixed.desk, mixed.clutter, mixed.light, mixed.effects) == \
               (plain.camera, plain.desk, plain.clutter, plain.light, plain.effects)
        assert len(mixed.items) == len(plain.items)
        for before, after in zip(plain.items, mixed.items):
            if before.class_name not in ATYPICAL_CLASSES:
                assert after == before
                continue
            assert after.atypical and after.appearance_seed == before.appearance_seed
            # inside the old box: placement's no-overlap still holds
            assert before.box_polygon_cm().buffer(0.02).contains(after.box_polygon_cm())


def test_make_atypical_keeps_the_customer_side_face():
    spec = ItemSpec("monitor", (80.0, 30.0), (55.0, 20.0), 42.0, yaw_deg=30.0, appearance_seed=3)
    flat = make_atypical(np.random.default_rng(0), spec)
    assert flat.atypical and flat.variant in (MONITOR_ON_FOOT, MONITOR_ON_EDGE)
    assert flat.size_cm[1] < 20.0 and flat.height_cm < 42.0
    old, new = spec.box_polygon_cm().exterior.coords, flat.box_polygon_cm().exterior.coords
    # corners 0 and 1 span the local -y (customer-side) face
    assert np.allclose(old[0], new[0], atol=0.02) and np.allclose(old[1], new[1], atol=0.02)


def test_atypical_is_asked_for_per_class():
    assert set(ATYPICAL_BUILDERS) == ATYPICAL_CLASSES
    with pytest.raises(ValueError, match="no atypical shape"):
        ItemSpec("pen", (0.0, 0.0), (14.0, 1.2), 1.2, atypical=True)
    typical = ItemSpec("mouse", (0.0, 0.0), (6.5, 11.0), 4.0, appearance_seed=1)
    assert "atypical" not in Scene(CameraSpec.look_at((0, -100, 100), (0, 0, 0), 800), DeskSpec(),
                                   (typical,)).to_dict()["items"][0]


@pytest.mark.parametrize("name,size,height,variant", ATYPICAL, ids=[f"{a[0]}-{a[3]}" for a in ATYPICAL])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_atypical_mesh_fills_its_box_and_parts_are_convex(name, size, height, variant, seed):
    (w, d), h = size, height
    spec = ItemSpec(name, (0.0, 0.0), size, height, appearance_seed=seed, variant=variant, atypical=True)
    parts = build_local(spec)
    v = np.vstack([p.vertices for p in parts])
    assert v[:, 0].min() == pytest.approx(-w / 2) and v[:, 0].max() == pytest.approx(w / 2)
    assert v[:, 1].min() == pytest.approx(-d / 2) and v[:, 1].max() == pytest.approx(d / 2)
    assert v[:, 2].min() >= -1e-9 and v[:, 2].max() == pytest.approx(h)
    for part in parts:
        for f in part.faces:
            assert np.all((part.vertices - f.vertices[0]) @ f.normal <= 1e-6)


def test_atypical_shapes_differ_from_typical_ones():
    def plan_area(spec):
        return MultiPoint(np.vstack([p.vertices for p in build_local(spec)])[:, :2]).convex_hull.area

    mouse = ItemSpec("mouse", (0.0, 0.0), (6.5, 11.0), 3.0, appearance_seed=1)
    assert plan_area(replace(mouse, atypical=True)) == pytest.approx(6.5 * 11.0)
    assert plan_area(mouse) < 0.9 * 6.5 * 11.0  # the typical mouse is rounded
    mug = ItemSpec("cup", (0.0, 0.0), (8.0, 8.0), 10.0, appearance_seed=2, variant=0)
    handleless = replace(mug, atypical=True)
    v = np.vstack([p.vertices for p in build_local(handleless)])
    assert np.allclose(np.hypot(v[:, 0], v[:, 1]).max(), 4.0)  # round, centred: no handle
    camera = ItemSpec("document_camera", (0.0, 0.0), (30.0, 20.0), 5.0, appearance_seed=3, atypical=True)
    assert len(build_local(camera)) == 1  # one slab, no arm


def test_atypical_truth_is_the_mesh():
    centres = [(15.0, 15.0), (45.0, 18.0), (88.0, 17.0), (40.0, 62.0), (118.0, 62.0), (135.0, 15.0)]
    items = tuple(ItemSpec(name, centre, size, height, yaw_deg=5.0 * i, appearance_seed=i, variant=variant,
                           atypical=True)
                  for i, (centre, (name, size, height, variant)) in enumerate(zip(centres, ATYPICAL)))
    cam = CameraSpec.look_at((80.0, -130.0, 190.0), (80.0, 40.0, 0.0), 1000.0, (1280, 720))
    scene = Scene(camera=cam, desk=DeskSpec(), items=items, light=LightSpec())
    shot = render(scene, np.random.default_rng(0), image_size=SMALL, effects=False)
    small = cam.scaled(SMALL)
    for i, (spec, truth) in enumerate(zip(items, shot.items_truth)):
        mesh = build_mesh(spec)
        hull = MultiPoint(mesh.vertices[:, :2]).convex_hull
        assert Polygon(truth.footprint_cm).symmetric_difference(hull).area < 1e-6
        assert truth.front_margin_cm == pytest.approx(mesh.vertices[:, 1].min())
        assert truth.height_cm == pytest.approx(spec.height_cm)
        px = small.project(mesh.vertices)
        assert truth.bbox_full_px == pytest.approx((*px.min(axis=0), *px.max(axis=0)), abs=0.5)
        assert truth.visible_fraction == pytest.approx(1.0)  # nothing in front of it
        ys, xs = np.nonzero(shot.id_buffer == i + 1)
        x0, y0, x1, y1 = truth.bbox_full_px
        assert xs.min() == pytest.approx(x0, abs=1.0) and xs.max() + 1 == pytest.approx(x1, abs=1.0)
        assert ys.min() == pytest.approx(y0, abs=1.0) and ys.max() + 1 == pytest.approx(y1, abs=1.0)
