"""Driving the supervisor page in real Chromium (Playwright, sync API): open it, correct an inspection.

`correct_in_page` does what a supervisor does in correct mode (tap a box and delete it, tap a box and
change its class, draw a missed box with the mouse, confirm or reject the verdict, save) and counts
the clicks and drags it took, so tests can report the time a correction costs a person.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


def launch_chromium(playwright, **options):
    """Debian's chromium, headless; never a downloaded browser."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, **options)


def open_page(browser, base_url: str, key: str | None, viewport: dict | None = None, *, context=None,
              user: tuple[str, str] | None = None, path: str = "/"):
    """A page on the server at `path`, signed in as a supervisor does once: the API key pasted into the
    key box, or `user` (name, password) through the sign-in form. In `context` when given
    (browser.new_context(): a second person with their own cookies and storage).
    Returns (page, errors): errors collects page errors, console errors, refused requests (but a 409:
    a conflicting save is an answer the page expects) and requests leaving the server."""
    if context is None:
        page = browser.new_page(viewport=viewport or {"width": 1280, "height": 800})
    else:
        page = context.new_page()
        if viewport:
            page.set_viewport_size(viewport)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # a refused request is recorded with its address (the console's own line does not say which)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" and
            not message.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: errors.append(f"HTTP {response.status} {response.request.method} "
                                                         f"{response.url}") if response.status >= 400 and
            response.status != 409 else None)

    def only_local(route):
        if route.request.url.startswith(base_url) or route.request.url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            errors.append(f"external request: {route.request.url}")
            route.abort()

    page.route("**/*", only_local)
    page.goto(base_url + path)
    page.wait_for_selector("#key-panel:not([hidden])")
    if user is not None:
        page.fill("#signin-name", user[0])
        page.fill("#signin-password", user[1])
        page.click("#signin-button")
    else:
        page.fill("#key-input", key)
        page.click("#key-form button[type=submit]")
    page.wait_for_selector("#key-panel", state="hidden")
    return page, errors


@dataclass
class CorrectionRun:
    """What one correction in the page cost and gave."""

    clicks: int = 0  # clicks, taps, drags and choices in a select, from opening the photo to saving
    wall_s: float = 0.0  # from asking to open the photo in correct mode to the saved answer shown
    save_ms: float | None = None  # the page's own time for the save request (performance.now)
    revision: int | None = None  # the revision the server stored; None on a conflict or an error
    conflict: bool = False
    status: str = ""
    steps: list[str] = field(default_factory=list)

    def count(self, step: str) -> None:
        self.clicks += 1
        self.steps.append(step)


def open_in_correct_mode(page, base_url: str, inspection_id: int, timeout_ms: float = 30_000) -> None:
    """Open an inspection straight in correct mode through its link /#correct/ID."""
    target = f"{base_url}/#correct/{inspection_id}"
    if page.url == target:
        page.reload()
    else:
        page.goto(target)
    wait_ready(page, inspection_id, timeout_ms)


def wait_ready(page, inspection_id: int, timeout_ms: float = 30_000) -> None:
    page.wait_for_selector(f"#correct-panel[data-ready='true'][data-inspection='{inspection_id}']", timeout=timeout_ms)


def box_point(page, item_id) -> tuple[float, float] | None:
    """A point on the screen inside the item's box where a tap reaches that box (not a smaller one over it)."""
    page.locator("#correct-stage").scroll_into_view_if_needed()
    return page.evaluate("""(id) => {
        const group = document.querySelector(`#correct-svg g[data-item="${id}"]`);
        if (!group) return null;
        const r = group.querySelector("rect").getBoundingClientRect();
        for (const fy of [0.5, 0.7, 0.3, 0.85, 0.15]) for (const fx of [0.5, 0.3, 0.7, 0.15, 0.85]) {
            const x = r.left + r.width * fx, y = r.top + r.height * fy;
            const hit = document.elementFromPoint(x, y);
            const owner = hit && hit.closest ? hit.closest("[data-item]") : null;
            if (owner && owner.dataset.item === String(id)) return [x, y];
        }
        return null;
    }""", item_id)


def tap_box(page, item_id, run: CorrectionRun | None = None) -> None:
    """Select an item by tapping its box on the photo (by its chip below the photo where no part of the
    box can be reached)."""
    point = box_point(page, item_id)
    if point is None:
        page.click(f"#correct-items .chip[data-item='{item_id}']")
    else:
        page.mouse.click(*point)
    page.wait_for_selector(f"#correct-svg g.selected[data-item='{item_id}']")
    if run:
        run.count(f"select #{item_id}")


def photo_to_screen(page, x_px: float, y_px: float) -> tuple[float, float]:
    """Screen (CSS px) of a photo pixel, through the overlay's size on the page."""
    box = page.locator("#correct-svg").bounding_box()
    width, height = page.evaluate("() => [document.querySelector('#correct-img').naturalWidth, "
                                  "document.querySelector('#correct-img').naturalHeight]")
    return box["x"] + x_px * box["width"] / width, box["y"] + y_px * box["height"] / height


def draw_box(page, class_name: str, bbox_px, run: CorrectionRun | None = None) -> None:
    """Press "draw", drag the mouse over the box (photo px), choose its class."""
    page.locator("#correct-stage").scroll_into_view_if_needed()
    page.click("#correct-draw")
    if run:
        run.count("draw mode")
    x1, y1 = photo_to_screen(page, bbox_px[0], bbox_px[1])
    x2, y2 = photo_to_screen(page, bbox_px[2], bbox_px[3])
    new = page.locator("#correct-svg g.box.new").count()
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, steps=4)
    page.mouse.move(x2, y2, steps=4)
    page.mouse.up()
    page.wait_for_function(f"() => document.querySelectorAll('#correct-svg g.box.new').length > {new}")
    if run:
        run.count("drag a box")
    if page.input_value("#correct-class") != class_name:
        page.select_option("#correct-class", class_name)
        if run:
            run.count(f"class {class_name}")


def correct_in_page(page, base_url: str, inspection_id: int, *, delete=(), relabel=None, draw=(),
                    verdict_confirmed: bool | None = None, author: str | None = None, opened: bool = False,
                    timeout_ms: float = 30_000) -> CorrectionRun:
    """Correct one inspection in the page as a supervisor does and save once.

    delete: item ids to delete; relabel: {item id: class}; draw: [(class, (x1, y1, x2, y2) photo px)];
    verdict_confirmed: True (verdict right), False (wrong) or None (not said). `opened`: the page is
    already in correct mode on this inspection (e.g. opened from the review tab). The page must hold
    the API key already (open_page). Returns the clicks it took, the wall time and the stored revision;
    a conflict or an error comes back in `conflict` / `status`, not as an exception.
    """
    run = CorrectionRun()
    started = time.perf_counter()
    if not opened:
        open_in_correct_mode(page, base_url, inspection_id, timeout_ms)
        run.count("open in correct mode")
    for item_id in delete:
        tap_box(page, item_id, run)
        page.click("#correct-delete")
        run.count(f"delete #{item_id}")
    for item_id, class_name in (relabel or {}).items():
        tap_box(page, item_id, run)
        page.select_option("#correct-class", class_name)
        run.count(f"class of #{item_id}: {class_name}")
    for class_name, bbox_px in draw:
        draw_box(page, class_name, bbox_px, run)
    if verdict_confirmed is not None:
        page.click("#verdict-confirm" if verdict_confirmed else "#verdict-reject")
        run.count("verdict right" if verdict_confirmed else "verdict wrong")
    if author is not None:
        page.fill("#correct-author", author)  # typing, not counted
    page.evaluate("() => { const s = document.querySelector('#correct-status'); delete s.dataset.revision; "
                  "s.textContent = ''; document.querySelector('#correct-conflict').hidden = true; }")
    page.click("#correct-save")
    run.count("save")
    page.wait_for_function(
        "() => { const s = document.querySelector('#correct-status');"
        "  return s.dataset.revision !== undefined || !document.querySelector('#correct-conflict').hidden ||"
        "    s.classList.contains('error') || s.classList.contains('warn'); }", timeout=timeout_ms)
    run.wall_s = time.perf_counter() - started
    run.status = page.inner_text("#correct-status")
    run.conflict = page.is_visible("#correct-conflict")
    revision = page.get_attribute("#correct-status", "data-revision")
    if revision is not None and not run.conflict:
        run.revision = int(revision)
        run.save_ms = float(page.get_attribute("#correct-status", "data-save-ms"))
    return run
