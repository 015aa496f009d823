"""Canonical item class ids (SPEC "Item classes") with their Chinese and English labels."""

from __future__ import annotations

CLASS_LABELS: dict[str, tuple[str, str]] = {
    # id: (label_zh, label_en)
    "cup": ("水杯", "water cup"),
    "monitor": ("显示器", "monitor"),
    "telephone": ("电话", "telephone"),
    "pen": ("笔", "pen"),
    "ink_pad": ("印泥", "ink pad"),
    "brochure": ("宣传册", "brochure"),
    "document_camera": ("高拍仪", "document camera"),
    "keyboard": ("键盘", "keyboard"),
    "mouse": ("鼠标", "mouse"),
    "name_plate": ("桌牌", "name plate"),
    "mobile_phone": ("手机", "mobile phone"),
    "bottle": ("瓶子", "bottle"),
    "bag": ("包", "bag"),
    "food": ("食品", "food"),
}

CANONICAL_CLASSES: tuple[str, ...] = tuple(CLASS_LABELS)


def label_zh(class_id: str, extra: dict[str, tuple[str, str]] | None = None) -> str:
    labels = {**CLASS_LABELS, **(extra or {})}
    return labels.get(class_id, (class_id, class_id))[0]


def label_en(class_id: str, extra: dict[str, tuple[str, str]] | None = None) -> str:
    labels = {**CLASS_LABELS, **(extra or {})}
    return labels.get(class_id, (class_id, class_id))[1]


# Nominal footprint (width along the desk x axis, depth along y) and height in cm, used to
# place a detection on the desk when the standard gives no size of its own.
CLASS_PRIORS_CM: dict[str, tuple[float, float, float]] = {
    "cup": (8.0, 8.0, 10.0),
    "monitor": (55.0, 20.0, 42.0),
    "telephone": (20.0, 18.0, 9.0),
    "pen": (14.0, 1.2, 1.2),
    "ink_pad": (8.0, 8.0, 2.5),
    "brochure": (21.0, 15.0, 1.0),
    "document_camera": (30.0, 20.0, 35.0),
    "keyboard": (44.0, 14.0, 3.0),
    "mouse": (6.5, 11.0, 4.0),
    "name_plate": (20.0, 6.0, 8.0),
    "mobile_phone": (7.5, 15.5, 0.9),
    "bottle": (7.0, 7.0, 22.0),
    "bag": (35.0, 15.0, 28.0),
    "food": (15.0, 10.0, 5.0),
}
