"""Human-readable summary of a fitted camera's error figures."""

from __future__ import annotations

from calibration.camera import Camera


def describe_fit(camera: Camera) -> str:
    fit = camera.spec.fit
    lines = [
        f"camera {camera.camera_id}: {fit.inliers} point pairs used",
        f"  reprojection error: {fit.reprojection_error_px:.3f} px RMS (max {fit.max_error_px:.3f} px)",
        f"  expected position error on the desk: median {fit.position_error_cm['median']:.2f} cm, "
        f"max {fit.position_error_cm['max']:.2f} cm",
    ]
    if fit.pose is not None:
        pose = fit.pose
        lines.append(
            f"  camera {pose.camera_height_cm:.0f} cm above the desk, tilted {pose.tilt_deg:.0f}° from vertical, "
            f"focal {pose.K[0][0]:.0f} px ({pose.focal_source})"
        )
    return "\n".join(lines)
