#!/usr/bin/env bash
# Train the bundled detector on a lent accelerator in ONE call, or on this machine's CPU to try it:
# generate the renders there, build the training mix from the carried real photos, fine-tune from the
# COCO start, export ONNX, and leave the registry folder (card, weights.pt, weights.onnx) in $OUT.
#
# On the device (after `bash models/device/prepare.sh` here; see README "Training on an accelerator"):
#   run(command="bash models/device/train.sh", carry=[".whl", "data/device"], timeout_s=560)
# A CPU dry run of the same steps, tiny:
#   OUT=/tmp/out DEVICE=cpu RENDERS=8 EPOCHS=1 IMGSZ=64 REAL=data/device/real-desk bash models/device/train.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${OUT:?set OUT to the folder that comes back}"
DEVICE=${DEVICE:-0}              # CUDA device index, or cpu
REAL=${REAL:-data/device/real-desk}
RENDERS=${RENDERS:-6000}         # rendered desks generated there
EPOCHS=${EPOCHS:-40}
HOURS=${HOURS:-0.11}             # ultralytics fits the epochs and LR schedule to this budget
IMGSZ=${IMGSZ:-640}
BATCH=${BATCH:-64}
NAME=${NAME:-desk-yolov8n-coco-device}
VERSION=${VERSION:-1.1.0-device}
WORK=${WORK:-/tmp/desk-train}
PY=${PYTHON:-python3}            # the device image's python3 holds torch

if ! "$PY" -c 'import ultralytics, pydantic, shapely' 2>/dev/null; then  # the device image lacks these (prepare.sh)
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
export YOLO_OFFLINE=1 PYTHONUNBUFFERED=1
[ -d "$REAL/images/train" ] || { echo "no real photos at $REAL (run models/device/prepare.sh here first)" >&2; exit 2; }
mkdir -p "$WORK" "$OUT"
WORKERS=$("$PY" -c 'import os; print(max(1, (os.cpu_count() or 2) - 1))')

start=$(date +%s)
"$PY" -m models.synth.dataset --out "$WORK/synth" --count "$RENDERS" --seed 21 --imgsz 640 --val-fraction 0 \
  --workers "$WORKERS" > "$WORK/synth.log"
echo "renders: $(( $(date +%s) - start )) s"
"$PY" -m models.mix --real "$REAL" --synth "$WORK/synth" --out "$WORK/mix" \
  --on-renders $(( RENDERS / 3 )) --on-photos 600 | tee "$OUT/mix.json"
echo "mix: $(( $(date +%s) - start )) s"
"$PY" -m inspector.cli train --data "$WORK/mix/data.yaml" --name "$NAME" --base coco --device "$DEVICE" \
  --imgsz "$IMGSZ" --epochs "$EPOCHS" --batch "$BATCH" --hours "$HOURS" --version "$VERSION" \
  --workers "$WORKERS" --runs "$WORK/runs" --registry "$WORK/registry" 2>&1 | tr '\r' '\n' | grep -v '━' > "$OUT/train.log" || { tail -30 "$OUT/train.log"; exit 1; }
"$PY" -m inspector.cli export "$NAME" --registry "$WORK/registry"
echo "trained and exported: $(( $(date +%s) - start )) s"
cp "$WORK/registry/$NAME/card.yaml" "$WORK/registry/$NAME/weights.pt" "$WORK/registry/$NAME/weights.onnx" "$OUT/"
grep -E "all " "$OUT/train.log" | tail -3 || true
