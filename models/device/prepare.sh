#!/usr/bin/env bash
# Run HERE before a device call (models/device/train.sh): packs the real photos small enough to
# travel, and downloads, from PyPI, the wheels the accelerator's image lacks (Python 3.12 there).
#   bash models/device/prepare.sh [REAL_FOLDER]      (default ../shared/data/real-desk)
set -euo pipefail
cd "$(dirname "$0")/../.."
REAL=${1:-../shared/data/real-desk}
LONG_SIDE=${LONG_SIDE:-512}
QUALITY=${QUALITY:-70}
PY=${PY:-.venv/bin/python}
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude

rm -rf data/device/real-desk && mkdir -p data/device
"$PY" - "$REAL" data/device/real-desk "$LONG_SIDE" "$QUALITY" <<'PYTHON'
import shutil, sys
from pathlib import Path
import cv2
real, out, long_side, quality = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for image in sorted(real.glob("images/*/*")):
    target = out / image.relative_to(real)
    target.parent.mkdir(parents=True, exist_ok=True)
    pixels = cv2.imread(str(image))
    scale = min(1.0, long_side / max(pixels.shape[:2]))  # YOLO labels are normalised: they stay right
    if scale < 1:
        pixels = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(target.with_suffix(".jpg")), pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
shutil.copytree(real / "labels", out / "labels")
shutil.copy(real / "data.yaml", out / "data.yaml")
PYTHON

rm -rf .whl && mkdir -p .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  $("$PY" -c 'from importlib.metadata import version as v
print(" ".join(f"{n}=={v(n)}" for n in ("ultralytics", "ultralytics-thop", "pydantic", "pydantic-core",
                                          "annotated-types", "typing-inspection", "shapely")))')  # the versions used here
echo "to carry: data/device $(du -sh data/device | cut -f1), .whl $(du -sh .whl | cut -f1)"
echo "tracked files: $(git ls-files -z | xargs -0 du -ck | tail -1 | cut -f1) KiB (all together must stay under 64 MiB)"
