"""Typed errors raised by the core; the CLI and the service turn them into exit codes and 4xx."""

from __future__ import annotations


class InspectorError(Exception):
    """Base of every error the inspector raises on bad input. `source` names the file or field."""

    def __init__(self, message: str, source: str | None = None):
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class CalibrationError(InspectorError):
    """A camera file or a set of correspondences cannot give a usable calibration."""


class StandardError(InspectorError):
    """A standard (rules YAML) is malformed or refers to unknown things."""


class ImageError(InspectorError):
    """An image is missing, unreadable, truncated or does not fit its camera."""


class DetectionsError(InspectorError):
    """A detections file is malformed or holds detections that cannot be placed."""


class ModelError(InspectorError):
    """A model file is missing, corrupt, or its classes map to no known id."""
