"""Desk-plane camera calibration: camera files, fitting, ArUco correspondences."""

from calibration.camera import Camera, CameraFile, fit_camera, load_camera, parse_camera, save_camera

__all__ = ["Camera", "CameraFile", "fit_camera", "load_camera", "parse_camera", "save_camera"]
