"""PyTorch and ultralytics come with the training extra (`pip install 'desk-inspector[train]'`); the
runtime install leaves them out, since inspection, batch and service run on ONNX Runtime. Code
that needs them checks here first, so that a runtime install says what to install instead of
failing with an ImportError deep inside a command.
"""

from __future__ import annotations

import os

from inspector.errors import ModelError

INSTALL_HINT = "pip install 'desk-inspector[train]'"


def require_training_extra(what: str, source: str | None = None, instead: str | None = None) -> None:
    """Import torch and ultralytics (ultralytics offline), or raise a ModelError saying that `what`
    needs them, how to install them and, where there is one, what to do `instead`."""
    # set before ultralytics' first import, which reads them
    os.environ.setdefault("YOLO_OFFLINE", "1")
    try:
        import torch  # noqa: F401
        import ultralytics  # noqa: F401
    except ImportError as error:
        raise ModelError(f"{what} needs PyTorch and ultralytics, which this install leaves out ({error}); "
                         f"this needs the training extra: {INSTALL_HINT}" + (f", or {instead}" if instead else ""),
                         source) from None
