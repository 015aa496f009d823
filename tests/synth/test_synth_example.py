"""The bundled example: its truth files agree with the geometry they were rendered from."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Polygon

from models.synth.shapes import build_mesh

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "front-counter"


def _make_example():
    spec = importlib.util.spec_from_file_location("make_example", ROOT / "examples" / "make_example.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _truths():
    return sorted((EXAMPLE / "truth").glob("*.json"))


def test_example_files_exist():
    assert len(_truths()) == 4
    for t in _truths():
        assert (EXAMPLE / "photos" / f"{t.stem}.jpg").is_file()
        assert (EXAMPLE / "detections" / f"{t.stem}.json").is_file()
    assert (EXAMPLE / "desk_corners.json").is_file()


@pytest.mark.parametrize("k", range(4))
def test_example_truth_matches_geometry(k):
    mod = _make_example()
    sc = mod.scenarios()[k]
    truth = json.loads((EXAMPLE / "truth" / f"{sc['stem']}.json").read_text())
    dets = json.loads((EXAMPLE / "detections" / f"{sc['stem']}.json").read_text())
    cam = mod.camera()
    assert truth["desk_corners_px"] == pytest.approx(cam.project(mod.DESK.corners_cm), abs=1e-3)
    assert len(truth["items"]) == len(sc["items"]) == len(dets)
    for spec, t, d in zip(sc["items"].values(), truth["items"], dets):
        mesh = build_mesh(spec)
        assert t["class"] == spec.class_name == d["class"]
        # front margin = the item's outermost point from the front edge y = 0
        assert t["front_margin_cm"] == pytest.approx(mesh.front_margin_cm(), abs=1e-3)
        assert t["front_margin_cm"] == pytest.approx(min(y for _, y in t["footprint_cm"]), abs=1e-3)
        assert t["height_cm"] == pytest.approx(spec.height_cm, abs=1e-3)
        assert Polygon(t["footprint_cm"]).hausdorff_distance(Polygon(mesh.footprint_cm())) < 1e-3
        assert d["bbox_px"] == pytest.approx(t["bbox_full_px"], abs=0.051)
        assert 0.8 <= d["confidence"] <= 0.97
        # the full box holds the projection of every mesh vertex
        px = cam.project(mesh.vertices)
        x0, y0, x1, y1 = t["bbox_full_px"]
        assert px[:, 0].min() >= x0 - 1e-3 and px[:, 0].max() <= x1 + 1e-3
        assert px[:, 1].min() >= y0 - 1e-3 and px[:, 1].max() <= y1 + 1e-3


def test_example_scenarios_hold():
    by_stem = {p.stem: json.loads(p.read_text()) for p in _truths()}
    a, b, c, d = (by_stem[s] for s in sorted(by_stem))
    zones = {k: Polygon(v) for k, v in a["zones_cm"].items()}

    def items(t, cls):
        return [i for i in t["items"] if i["class"] == cls]

    # (a) compliant: margins >= 5 cm, pass-through clear, zoned items inside their zones
    assert min(i["front_margin_cm"] for i in a["items"]) >= 5.0
    assert not any(Polygon(i["footprint_cm"]).intersects(zones["pass_through"]) for i in a["items"])
    for cls in ("monitor", "document_camera", "cup"):
        assert zones[f"{cls}_zone"].contains(Polygon(items(a, cls)[0]["footprint_cm"]))
    # (b) the cup 2 cm from the front edge, brochures in the pass-through
    assert items(b, "cup")[0]["front_margin_cm"] == pytest.approx(2.0, abs=1e-3)
    assert min(i["front_margin_cm"] for i in b["items"] if i["class"] != "cup") >= 5.0
    assert zones["pass_through"].contains(Polygon(items(b, "brochure")[0]["footprint_cm"]))
    # (c) phone and bag, no name plate
    assert items(c, "mobile_phone") and items(c, "bag") and not items(c, "name_plate")
    # (d) monitor out of its zone, rotated 20 degrees
    mon = items(d, "monitor")[0]
    for t in (c, d):  # only the intended faults: margins and the pass-through stay fine
        assert min(i["front_margin_cm"] for i in t["items"]) >= 5.0
        assert not any(Polygon(i["footprint_cm"]).intersects(zones["pass_through"]) for i in t["items"])
    assert not zones["monitor_zone"].contains(Polygon(mon["footprint_cm"]))
    assert mon["yaw_deg"] == pytest.approx(20.0)


def test_desk_corners_file():
    corners = json.loads((EXAMPLE / "desk_corners.json").read_text())
    assert [p["desk_cm"] for p in corners["points"]] == [[0, 0], [160, 0], [160, 80], [0, 80]]
    px = np.array([p["image_px"] for p in corners["points"]])
    assert np.all((px >= 0) & (px <= [1280, 720]))
