"""Synthetic counter-desk scenes with exact ground truth.

Uses: a geometry accuracy benchmark (known camera and item heights -> true boxes), the
bundled example photos, and YOLO training data.  Modules:

- `scene`: frozen scene records (`CameraSpec`, `DeskSpec`, `ItemSpec`, `LightSpec`, `Effects`,
  `Scene`) and domain-randomised sampling (`sample_camera`, `sample_scene`, ...);
- `shapes`: a 3D mesh of convex parts for every SPEC class and some clutter (`build_mesh`);
- `render`: the CPU rasteriser, `models.synth.render.render(scene, rng) -> Rendered` with
  per-item `ItemTruth`;
- `dataset`: the YOLO dataset writer (`python -m models.synth.dataset --out DIR --count N`).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "CameraSpec": "scene", "DeskSpec": "scene", "Effects": "scene", "ItemSpec": "scene", "LightSpec": "scene",
    "Scene": "scene", "sample_camera": "scene", "sample_desk": "scene", "sample_scene": "scene",
    "ItemMesh": "shapes", "build_mesh": "shapes",
    "ItemTruth": "render", "Rendered": "render",
}  # the function `render` lives in models.synth.render (a package attribute would be the module)
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # Lazy, so `python -m models.synth.render` / `.dataset` do not import themselves twice.
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
