// Correct mode and the review queue (issue 20): a supervisor deletes, relabels or draws boxes on an
// inspection's photo and confirms or rejects the verdict; the server re-evaluates the report.
// Loaded after app.js: uses its state, t(), el(), $(), notify() and api()/apiJson(), so every call
// here authenticates the way the rest of the page does.
"use strict";

// one block: these names stay here, not in the page's shared global scope (setup.js has a classLabel too)
(() => {
  Object.assign(TEXT.zh, {
    tab_review: "复核",
    correct_open: "更正检测结果", correct_title: "更正检测结果",
    correct_hint: "点选照片上的框（或下面的编号）来选中它：可删除或改类别；按“画框”后在照片上拖动，画出漏检的物品。最后确认判定并保存。",
    correct_draw: "画框（漏检）", correct_drawing: "在照片上拖动画框…", correct_delete: "删除此框", correct_restore: "恢复此框",
    correct_class_new: "新框类别", correct_verdict_q: "判定对吗？", verdict_right: "判定正确", verdict_wrong: "判定错误",
    correct_author: "您的姓名（可选）", correct_save: "保存更正", correct_close: "关闭", correct_saving: "保存中…",
    correct_none_selected: "未选中框。点选照片上的框，或按“画框”画出漏检物品。",
    correct_selected: "已选 #{id}：{label} · {source}", correct_selected_new: "已选新画的框：{label}（未保存）", source_model: "检测 {conf}", source_person: "人工画框",
    correct_no_changes: "没有改动：请改框或确认判定后再保存。",
    correct_saved: "已保存第 {revision} 版更正（用时 {ms} ms）。", correct_loading: "载入照片…",
    correct_photo_gone: "原始照片已不在服务器上，改用标注照片显示（仍可查看，但无法保存更正）。",
    conflict_title: "别人已先保存了更正，您的改动没有保存。下面是对方的更正，已载入；请在此基础上重新更正。",
    conflict_by: "第 {revision} 版 · {author} · {time}", conflict_actions: "对方的改动：{actions}",
    act_delete: "删除 #{id}", act_relabel: "#{id} 改为 {label}", act_add: "新画 {label}", act_confirm: "确认 #{id}",
    corrected: "更正后", original: "原判定", revision_by: "第 {revision} 版更正 · {author} · {time}",
    verdict_confirmed_yes: "人工确认：判定正确", verdict_confirmed_no: "人工确认：判定错误", verdict_confirmed_none: "判定未确认",
    corrected_violations: "更正后的违规项：", no_corrected_violations: "更正后没有违规项。",
    review_title: "待复核：最值得看的检查在前",
    review_hint: "按人工查看能改变多少排序：判定可能翻转、接近限值的结果、接近阈值的检测、无法判定的规则、模型最弱的类别。每天最多列出固定条数。",
    review_meta: "{day} · 共 {candidates} 条候选，列出前 {shown} 条（每日上限 {cap}）", review_empty: "没有待复核的检查。",
    review_priority: "优先级 {p}", review_correct: "更正",
    legend_model: "检测框", legend_checked: "人工核对过", legend_relabelled: "改了类别", legend_new: "人工画框", legend_deleted: "删除",
  });
  Object.assign(TEXT.en, {
    tab_review: "Review",
    correct_open: "Correct this result", correct_title: "Correct the result",
    correct_hint: "Tap a box on the photo (or its number below) to select it: delete it or change its class. Press “Draw box” and drag on the photo to add an item the detector missed. Then confirm or reject the verdict and save.",
    correct_draw: "Draw box (missed item)", correct_drawing: "Drag on the photo…", correct_delete: "Delete box", correct_restore: "Restore box",
    correct_class_new: "class of a new box", correct_verdict_q: "Is the verdict right?", verdict_right: "Verdict right", verdict_wrong: "Verdict wrong",
    correct_author: "Your name (optional)", correct_save: "Save correction", correct_close: "Close", correct_saving: "Saving…",
    correct_none_selected: "No box selected. Tap a box on the photo, or press “Draw box” to add a missed item.",
    correct_selected: "Selected #{id}: {label} · {source}", correct_selected_new: "Selected the new box: {label} (not saved yet)", source_model: "detected {conf}", source_person: "drawn by a person",
    correct_no_changes: "Nothing changed: change a box or confirm the verdict, then save.",
    correct_saved: "Correction revision {revision} saved ({ms} ms).", correct_loading: "Loading the photo…",
    correct_photo_gone: "The original photo is no longer on the server; showing the annotated photo (a correction cannot be saved).",
    conflict_title: "Someone else saved a correction first; yours was not saved. Theirs is shown and loaded below: correct again on top of it.",
    conflict_by: "revision {revision} · {author} · {time}", conflict_actions: "Their changes: {actions}",
    act_delete: "deleted #{id}", act_relabel: "#{id} → {label}", act_add: "drew {label}", act_confirm: "confirmed #{id}",
    corrected: "corrected", original: "original", revision_by: "Correction revision {revision} · {author} · {time}",
    verdict_confirmed_yes: "verdict confirmed right", verdict_confirmed_no: "verdict marked wrong", verdict_confirmed_none: "verdict not confirmed",
    corrected_violations: "Violations after correction:", no_corrected_violations: "No violations after correction.",
    review_title: "Review: the inspections most worth a look first",
    review_hint: "Ranked by how much a person's look can change: a verdict that could flip, results near their limit, detections near their threshold, rules not judged, the model's weakest classes. A short list a day.",
    review_meta: "{day} · {candidates} candidates, the first {shown} shown (cap {cap} a day)", review_empty: "Nothing to review.",
    review_priority: "priority {p}", review_correct: "Correct",
    legend_model: "detected", legend_checked: "checked by a person", legend_relabelled: "class changed", legend_new: "drawn by a person",
    legend_deleted: "deleted",
  });

  const SVG_NS = "http://www.w3.org/2000/svg";
  const AUTHOR_STORAGE = "desk-inspector.author";
  const MIN_BOX_PX = 4;  // a drag shorter than this (photo px) is a tap, not a box

  const fix = {
    inspection: null,   // the inspection shown on the page
    view: null,         // its corrections as the server last sent them (GET .../corrections)
    open: false,
    revision: 0,
    items: new Map(),   // working copy, id -> {id, cls, baseCls, bbox, source, confidence, deleted, isNew}
    order: [],
    nextNewId: -1,      // drawn boxes are numbered by the server on save; negative until then
    selected: null,
    drawMode: false,
    drawing: null,      // {pointerId, start: [x, y], end: [x, y]}
    verdictConfirmed: null,
    classes: [],        // [{id, label_zh, label_en}]
    newClass: null,
    size: [0, 0],       // the photo's px: bbox_px live in them
    photoOk: false,
    token: 0,           // drops answers for an inspection no longer shown
  };

  // ---------------------------------------------------------------- labels
  function classLabel(id) {
    const known = fix.classes.find((c) => c.id === id);
    if (state.lang === "zh") return known ? `${known.label_zh}（${id}）` : id;
    return known ? known.label_en : id.replaceAll("_", " ");
  }

  function verdictWord(verdict) {
    if (!verdict) return "–";
    return t(verdict === "check" ? "check_short" : verdict);
  }

  function verdictBadgeOf(verdict) {
    return el("span", { class: `badge ${verdict || "other"}`, "data-verdict": verdict || "", text: verdictWord(verdict) });
  }

  function actionText(action) {
    const label = action.class ? classLabel(action.class) : "";
    return t(`act_${action.action}`, { id: action.item_id ?? "", label });
  }

  // ---------------------------------------------------------------- loading
  async function loadClasses() {
    if (fix.classes.length) return;
    try { fix.classes = (await apiJson("classes")).classes; } catch (_) { fix.classes = []; }
  }

  function baseItems(view) {
    const latest = view.corrections.length ? view.corrections[view.corrections.length - 1] : null;
    if (latest) {
      return latest.items.map((i) => ({ id: i.item_id, cls: i.class, bbox: i.bbox_px, source: i.source,
                                        confidence: i.confidence, checked: i.checked }));
    }
    return ((view.original_report || {}).items || []).map((i) => ({
      id: i.id, cls: i.class, bbox: i.bbox_px, source: "model", confidence: i.confidence, checked: false }));
  }

  // Start over from what the server holds: its latest revision, no pending change.
  function resetWorkingCopy(view) {
    fix.view = view;
    fix.revision = view.revision;
    fix.items = new Map();
    fix.order = [];
    for (const item of baseItems(view)) {
      fix.items.set(item.id, { ...item, baseCls: item.cls, deleted: false, isNew: false });
      fix.order.push(item.id);
    }
    fix.selected = null;
    fix.drawMode = false;
    fix.drawing = null;
    fix.verdictConfirmed = null;
    fix.nextNewId = -1;
  }

  async function fetchView(id) {
    return apiJson(`inspections/${id}/corrections`);
  }

  async function onInspectionShown(event) {
    const inspection = event.detail;
    const token = ++fix.token;
    fix.inspection = inspection;
    closeCorrect();
    $("#correct-conflict").hidden = true;
    $("#correction-summary").hidden = true;
    $("#correct-open").hidden = !inspection.report;
    if (!inspection.report) return;
    try {
      const view = await fetchView(inspection.id);
      if (token !== fix.token) return;
      fix.view = view;
      renderSummary();
    } catch (error) { if (token === fix.token) notify(error.message); }
  }

  async function openCorrect() {
    if (!fix.inspection || !fix.inspection.report) return;
    const token = fix.token;
    const id = fix.inspection.id;
    fix.open = true;
    $("#correct-panel").hidden = false;
    $("#correct-panel").dataset.inspection = id;
    $("#correct-open").hidden = true;
    $("#correct-panel").dataset.ready = "false";
    $("#correct-status").className = "hint";
    $("#correct-status").textContent = t("correct_loading");
    $("#correct-author").value = localStorage.getItem(AUTHOR_STORAGE) || "";
    try {
      const [view] = await Promise.all([fetchView(id), loadClasses(), loadPhoto(id)]);
      if (token !== fix.token) return;
      resetWorkingCopy(view);
      fix.newClass = fix.newClass || (fix.classes[0] && fix.classes[0].id) || null;
      $("#correct-status").textContent = fix.photoOk ? "" : t("correct_photo_gone");
      renderSummary();
      renderCorrect();
      $("#correct-panel").dataset.ready = "true";
      $("#correct-panel").scrollIntoView({ behavior: "smooth", block: "start" });
    } catch (error) {
      $("#correct-status").textContent = "";
      notify(error.message);
    }
  }

  async function loadPhoto(id) {
    // the photo without drawings: the boxes are drawn over it here; the annotated one if it is gone
    const img = $("#correct-img");
    let blob;
    fix.photoOk = true;
    try {
      blob = await (await api(`inspections/${id}/photo`)).blob();
    } catch (error) {
      if (error.status !== 410 && error.status !== 404) throw error;
      fix.photoOk = false;
      if (!fix.inspection.links.annotated) throw error;
      blob = await (await api(fix.inspection.links.annotated)).blob();
    }
    if (state.objectUrls.correct) URL.revokeObjectURL(state.objectUrls.correct);
    state.objectUrls.correct = URL.createObjectURL(blob);
    await new Promise((resolve, reject) => {
      img.onload = resolve;
      img.onerror = () => reject(new Error("photo cannot be shown"));
      img.src = state.objectUrls.correct;
    });
    fix.size = [img.naturalWidth, img.naturalHeight];
    $("#correct-svg").setAttribute("viewBox", `0 0 ${fix.size[0]} ${fix.size[1]}`);
  }

  function closeCorrect() {
    fix.open = false;
    fix.drawing = null;
    $("#correct-panel").hidden = true;
    $("#correct-panel").dataset.ready = "false";
    if (fix.inspection && fix.inspection.report) $("#correct-open").hidden = false;
  }

  // ---------------------------------------------------------------- the working copy
  function changes() {
    const actions = [];
    for (const id of fix.order) {
      const item = fix.items.get(id);
      if (item.isNew) {
        if (!item.deleted) actions.push({ action: "add", class: item.cls, bbox_px: item.bbox.map((v) => Math.round(v * 10) / 10) });
      } else if (item.deleted) {
        actions.push({ action: "delete", item_id: id });
      } else if (item.cls !== item.baseCls) {
        actions.push({ action: "relabel", item_id: id, class: item.cls });
      }
    }
    return actions;
  }

  function select(id) {
    fix.selected = id;
    renderCorrect();
  }

  function setClass(cls) {
    const item = fix.selected !== null ? fix.items.get(fix.selected) : null;
    if (item) {
      item.cls = cls;
      item.deleted = false;
    }
    if (!item || item.isNew) fix.newClass = cls;  // the next drawn box starts with the class last drawn
    renderCorrect();
  }

  function toggleDelete() {
    const item = fix.selected !== null ? fix.items.get(fix.selected) : null;
    if (!item) return;
    if (item.isNew) {
      fix.items.delete(item.id);
      fix.order = fix.order.filter((id) => id !== item.id);
      fix.selected = null;
    } else {
      item.deleted = !item.deleted;
    }
    renderCorrect();
  }

  function addBox(bbox) {
    const id = fix.nextNewId--;
    fix.items.set(id, { id, cls: fix.newClass, baseCls: null, bbox, source: "person", confidence: 1, deleted: false, isNew: true });
    fix.order.push(id);
    fix.selected = id;
    fix.drawMode = false;
    renderCorrect();
  }

  // ---------------------------------------------------------------- drawing the overlay
  function svgNode(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    return node;
  }

  function itemState(item) {
    if (item.deleted) return "deleted";
    if (item.isNew) return "new";
    if (item.cls !== item.baseCls) return "relabelled";
    if (item.source === "person") return "person";
    return item.checked ? "checked" : "model";
  }

  function itemName(item) {
    return item.isNew ? "+" : `#${item.id}`;
  }

  function renderOverlay() {
    const svg = $("#correct-svg");
    const [width, height] = fix.size;
    if (!width) { svg.replaceChildren(); return; }
    // text and handles a constant size on screen, whatever the photo's px
    const shown = svg.getBoundingClientRect().width || width;
    const perScreenPx = width / shown;
    const font = 13 * perScreenPx;
    const compact = shown < 700;  // a phone: the number on the photo, the class in the list below it
    const boxes = fix.order.map((id) => fix.items.get(id));
    // the largest first: a small box inside a big one stays on top, so a tap reaches it
    boxes.sort((a, b) => (b.bbox[2] - b.bbox[0]) * (b.bbox[3] - b.bbox[1]) - (a.bbox[2] - a.bbox[0]) * (a.bbox[3] - a.bbox[1]));
    const nodes = boxes.map((item) => {
      const [x1, y1, x2, y2] = item.bbox;
      const group = svgNode("g", { class: `box ${itemState(item)}${item.id === fix.selected ? " selected" : ""}`,
                                   "data-item": item.id, "data-class": item.cls || "" });
      group.append(svgNode("rect", { x: x1, y: y1, width: Math.max(x2 - x1, 1), height: Math.max(y2 - y1, 1) }));
      const label = compact ? itemName(item) : `${itemName(item)} ${item.cls ? classLabel(item.cls) : "?"}`;
      const tagY = y1 - font * 1.5 >= 0 ? y1 - font * 1.5 : y1;
      group.append(svgNode("rect", { class: "tag", x: x1, y: tagY, width: font, height: font * 1.5 }));
      const text = svgNode("text", { x: x1 + font * 0.35, y: tagY + font * 1.12, "font-size": font });
      text.textContent = label;
      group.append(text);
      return group;
    });
    if (fix.drawing) {
      const [ax, ay] = fix.drawing.start;
      const [bx, by] = fix.drawing.end;
      nodes.push(svgNode("rect", { class: "drawing", x: Math.min(ax, bx), y: Math.min(ay, by),
                                   width: Math.abs(bx - ax), height: Math.abs(by - ay) }));
    }
    svg.replaceChildren(...nodes);
    // each tag as wide as its text, kept inside the photo
    for (const group of svg.querySelectorAll("g.box")) {
      const tag = group.querySelector(".tag");
      const text = group.querySelector("text");
      const tagWidth = text.getComputedTextLength() + font * 0.7;
      const x = Math.min(Math.max(Number(tag.getAttribute("x")), 0), Math.max(width - tagWidth, 0));
      tag.setAttribute("x", x);
      tag.setAttribute("width", tagWidth);
      text.setAttribute("x", x + font * 0.35);
    }
    svg.classList.toggle("draw-mode", fix.drawMode);
  }

  function renderCorrect() {
    if (!fix.open) return;
    renderOverlay();
    const item = fix.selected !== null ? fix.items.get(fix.selected) : null;

    const select = $("#correct-class");
    const ids = fix.classes.map((c) => c.id);
    for (const other of fix.items.values()) if (other.cls && !ids.includes(other.cls)) ids.push(other.cls);
    select.replaceChildren(...ids.map((id) => el("option", { value: id, text: classLabel(id) })));
    select.value = item ? item.cls : fix.newClass || "";
    select.title = item ? "" : t("correct_class_new");

    $("#correct-delete").disabled = !item;
    $("#correct-delete").textContent = item && item.deleted ? t("correct_restore") : t("correct_delete");
    $("#correct-draw").setAttribute("aria-pressed", String(fix.drawMode));
    $("#correct-draw").textContent = fix.drawMode ? t("correct_drawing") : t("correct_draw");
    let selected = t("correct_none_selected");
    if (item && item.isNew) selected = t("correct_selected_new", { label: classLabel(item.cls) });
    else if (item) {
      const how = itemState(item);
      selected = t("correct_selected", { id: item.id, label: classLabel(item.cls),
        source: item.source === "person" ? t("source_person") : t("source_model", { conf: fmt(item.confidence, 2) }) })
        + (how === "deleted" || how === "relabelled" || how === "checked" ? ` · ${t(`legend_${how}`)}` : "");
    }
    $("#correct-selected").textContent = selected;

    $("#correct-legend").replaceChildren(...["model", "checked", "relabelled", "new", "deleted"].map((name) =>
      el("span", { class: `legend ${name}`, text: t(`legend_${name}`) })));
    $("#correct-items").replaceChildren(...fix.order.map((id) => {
      const entry = fix.items.get(id);
      return el("button", { type: "button", class: `chip ${itemState(entry)}${id === fix.selected ? " selected" : ""}`,
                            "data-item": id, onclick: () => select(id),
                            text: `${itemName(entry)} ${classLabel(entry.cls)}` });
    }));

    $("#verdict-confirm").setAttribute("aria-pressed", String(fix.verdictConfirmed === true));
    $("#verdict-reject").setAttribute("aria-pressed", String(fix.verdictConfirmed === false));
    const pending = changes().length;
    $("#correct-save").disabled = !fix.photoOk;
    $("#correct-save").textContent = t("correct_save") + (pending ? ` (${pending})` : "");
    $("#correct-author").placeholder = t("correct_author");
  }

  // The corrected verdict beside the original, whenever the shown inspection has a correction.
  function renderSummary() {
    const box = $("#correction-summary");
    const view = fix.view;
    if (!view || !view.revision || !fix.inspection || view.inspection_id !== fix.inspection.id) { box.hidden = true; return; }
    const latest = view.corrections[view.corrections.length - 1];
    const confirmed = view.verdict_confirmed === true ? t("verdict_confirmed_yes")
      : view.verdict_confirmed === false ? t("verdict_confirmed_no") : t("verdict_confirmed_none");
    const violations = ((view.corrected_report || {}).violations || []).filter((v) => (v.decision || "fail") === "fail");
    box.dataset.revision = view.revision;
    box.dataset.correctedVerdict = view.corrected_verdict || "";
    box.replaceChildren(
      el("div", { class: "verdicts" },
        el("span", { class: "which", text: t("original") }), verdictBadgeOf(view.original_verdict),
        el("span", { class: "arrow", text: "→" }),
        el("span", { class: "which", text: t("corrected") }), verdictBadgeOf(view.corrected_verdict),
        el("span", { class: "confirmed", text: confirmed })),
      el("p", { class: "hint", text: t("revision_by", { revision: view.revision, author: latest.author, time: localTime(latest.created_at) }) }),
      el("p", { class: "corrected-violations", text: violations.length
        ? `${t("corrected_violations")} ${violations.map((v) => (state.lang === "zh" ? v.message_zh : v.message_en)).join(state.lang === "zh" ? "；" : "; ")}`
        : t("no_corrected_violations") }));
    box.hidden = false;
  }

  // ---------------------------------------------------------------- pointer: select, draw (mouse or finger)
  function photoPoint(event) {
    const box = $("#correct-svg").getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * fix.size[0];
    const y = ((event.clientY - box.top) / box.height) * fix.size[1];
    return [Math.min(Math.max(x, 0), fix.size[0]), Math.min(Math.max(y, 0), fix.size[1])];
  }

  function onPointerDown(event) {
    if (!fix.open || !fix.size[0] || event.button > 0) return;
    const target = event.target.closest("[data-item]");
    // a tap on a box selects it; drawing starts in draw mode, or with a mouse on the bare photo
    if (!fix.drawMode && (target || event.pointerType === "touch")) {
      if (target) { event.preventDefault(); select(Number(target.dataset.item)); }
      return;
    }
    event.preventDefault();
    $("#correct-svg").setPointerCapture(event.pointerId);
    const point = photoPoint(event);
    fix.drawing = { pointerId: event.pointerId, start: point, end: point };
  }

  function onPointerMove(event) {
    if (!fix.drawing || event.pointerId !== fix.drawing.pointerId) return;
    event.preventDefault();
    fix.drawing.end = photoPoint(event);
    renderOverlay();
  }

  function onPointerUp(event) {
    if (!fix.drawing || event.pointerId !== fix.drawing.pointerId) return;
    fix.drawing.end = photoPoint(event);
    const [ax, ay] = fix.drawing.start;
    const [bx, by] = fix.drawing.end;
    fix.drawing = null;
    if (Math.abs(bx - ax) >= MIN_BOX_PX && Math.abs(by - ay) >= MIN_BOX_PX) {
      addBox([Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)]);
    } else {
      fix.selected = null;  // a tap on the bare photo: nothing selected
      renderCorrect();
    }
  }

  function onPointerCancel() {
    fix.drawing = null;
    renderOverlay();
  }

  // ---------------------------------------------------------------- saving, and a conflict
  async function saveCorrection() {
    const actions = changes();
    if (!actions.length && fix.verdictConfirmed === null) {
      $("#correct-status").className = "hint warn";
      $("#correct-status").textContent = t("correct_no_changes");
      return;
    }
    const id = fix.inspection.id;
    const author = $("#correct-author").value.trim();
    if (author) localStorage.setItem(AUTHOR_STORAGE, author); else localStorage.removeItem(AUTHOR_STORAGE);
    const body = { items: actions, base_revision: fix.revision };
    if (fix.verdictConfirmed !== null) body.verdict_confirmed = fix.verdictConfirmed;
    if (author) body.author = author;
    const button = $("#correct-save");
    button.disabled = true;
    $("#correct-status").className = "hint";
    $("#correct-status").textContent = t("correct_saving");
    $("#correct-conflict").hidden = true;
    const started = performance.now();
    try {
      const view = await apiJson(`inspections/${id}/corrections`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const ms = Math.round(performance.now() - started);
      if (id !== fix.inspection.id) return;
      resetWorkingCopy(view);
      renderSummary();
      renderCorrect();
      $("#correct-status").className = "hint ok";
      $("#correct-status").dataset.saveMs = ms;
      $("#correct-status").dataset.revision = view.revision;
      $("#correct-status").textContent = t("correct_saved", { revision: view.revision, ms });
      notify("");
    } catch (error) {
      $("#correct-status").textContent = "";
      if (error.status === 409) await showConflict(id, error.message);
      else {
        $("#correct-status").className = "hint error";
        $("#correct-status").textContent = `${error.status || ""} ${error.message}`.trim();
        notify(error.message);
      }
    } finally {
      button.disabled = !fix.photoOk;
    }
  }

  async function showConflict(id, detail) {
    // the second person sees the first one's correction, and corrects on top of it
    let view;
    try { view = await fetchView(id); } catch (error) { notify(error.message); return; }
    if (id !== fix.inspection.id) return;
    resetWorkingCopy(view);
    renderSummary();
    renderCorrect();
    const latest = view.corrections[view.corrections.length - 1];
    const box = $("#correct-conflict");
    box.dataset.revision = view.revision;
    box.replaceChildren(
      el("p", { class: "title", text: t("conflict_title") }),
      latest ? el("p", { text: t("conflict_by", { revision: latest.revision, author: latest.author, time: localTime(latest.created_at) }) }) : null,
      latest ? el("p", { class: "verdicts" }, el("span", { text: `${t("original")} ` }), verdictBadgeOf(latest.original_verdict),
                   el("span", { text: ` → ${t("corrected")} ` }), verdictBadgeOf(latest.corrected_verdict)) : null,
      latest && latest.actions.length ? el("p", { text: t("conflict_actions", { actions: latest.actions.map(actionText).join(", ") }) }) : null,
      el("p", { class: "detail", text: detail }));
    box.hidden = false;
    box.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  // ---------------------------------------------------------------- review queue
  async function loadReview() {
    const params = new URLSearchParams();
    if ($("#review-day").value) params.set("day", $("#review-day").value);
    try {
      const queue = await apiJson(`review-queue${params.toString() ? `?${params}` : ""}`);
      if (!$("#review-day").value && queue.day) $("#review-day").value = queue.day;
      $("#review-meta").textContent = queue.day
        ? t("review_meta", { day: queue.day, candidates: queue.candidates, shown: queue.items.length, cap: queue.cap }) : "";
      const list = $("#review-list");
      if (!queue.items.length) { list.replaceChildren(el("li", { class: "empty", text: t("review_empty") })); return; }
      list.replaceChildren(...queue.items.map((entry) => {
        const summary = entry.inspection;
        return el("li", { class: "review-entry", "data-inspection": summary.id },
          el("div", { class: "review-head" },
            el("span", { class: "priority", text: t("review_priority", { p: fmt(entry.priority, 1) }) }),
            verdictBadge(summary),
            el("span", { class: "camera", text: summary.camera_id }),
            el("span", { class: "time", text: localTime(summary.captured_at || summary.inspected_at) }),
            el("span", { class: "image", text: summary.image_name })),
          el("ul", { class: "reasons" }, ...entry.reasons.map((reason) => el("li", { "data-code": reason.code,
            text: state.lang === "zh" ? reason.text_zh : reason.text_en }))),
          el("button", { type: "button", class: "primary review-open", text: t("review_correct"),
                         onclick: () => openForCorrection(summary.id) }));
      }));
    } catch (error) { notify(error.message); }
  }

  // Open an inspection straight in correct mode (review queue, or the link #correct/ID).
  async function openForCorrection(id) {
    try {
      await showInspection(await apiJson(`inspections/${id}`));
      await openCorrect();
    } catch (error) { notify(error.message); }
  }

  function openFromHash() {
    const match = /^#correct\/(\d+)$/.exec(location.hash);
    if (match) openForCorrection(Number(match[1]));
  }

  // ---------------------------------------------------------------- wiring
  function wireCorrections() {
    document.addEventListener("inspection-shown", onInspectionShown);
    document.addEventListener("view-shown", (event) => { if (event.detail === "review") loadReview(); });
    $("#correct-open").addEventListener("click", openCorrect);
    $("#correct-close").addEventListener("click", closeCorrect);
    $("#correct-draw").addEventListener("click", () => { fix.drawMode = !fix.drawMode; renderCorrect(); });
    $("#correct-delete").addEventListener("click", toggleDelete);
    $("#correct-class").addEventListener("change", (event) => setClass(event.target.value));
    $("#verdict-confirm").addEventListener("click", () => { fix.verdictConfirmed = fix.verdictConfirmed === true ? null : true; renderCorrect(); });
    $("#verdict-reject").addEventListener("click", () => { fix.verdictConfirmed = fix.verdictConfirmed === false ? null : false; renderCorrect(); });
    $("#correct-save").addEventListener("click", saveCorrection);
    const svg = $("#correct-svg");
    svg.addEventListener("pointerdown", onPointerDown);
    svg.addEventListener("pointermove", onPointerMove);
    svg.addEventListener("pointerup", onPointerUp);
    svg.addEventListener("pointercancel", onPointerCancel);
    document.addEventListener("keydown", (event) => {
      if (fix.open && event.key === "Escape" && (fix.drawMode || fix.selected !== null)) {
        fix.drawMode = false;
        fix.drawing = null;
        fix.selected = null;
        renderCorrect();
        return;
      }
      if (!fix.open || fix.selected === null || !["Delete", "Backspace"].includes(event.key)) return;
      if (["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) return;
      event.preventDefault();
      toggleDelete();
    });
    window.addEventListener("resize", () => { if (fix.open) renderOverlay(); });
    // after app.js's own handler has switched the language
    $("#lang-toggle").addEventListener("click", () => { renderSummary(); renderCorrect(); if (!$("#view-review").hidden) loadReview(); });
    $("#review-refresh").addEventListener("click", loadReview);
    $("#review-day").addEventListener("change", loadReview);
    window.addEventListener("hashchange", openFromHash);
  }

  // A link #correct/ID opened in a new tab: wait until the page knows who is there (a kept API key,
  // or a session that auth.js asks the server about), else it would ask to sign in for nothing;
  // someone not signed in yet gets there once they are (auth.js's "signed-in").
  let waitingForSignIn = false;

  async function openFromHashWhenSignedIn() {
    waitingForSignIn = true;
    for (let waited = 0; waited < 5000 && waitingForSignIn; waited += 100) {
      if (state.key || (typeof Auth !== "undefined" && Auth.session)) {
        waitingForSignIn = false;
        openFromHash();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  wireCorrections();
  applyLanguage();  // app.js translated the page before these texts were added
  document.addEventListener("signed-in", () => { waitingForSignIn = false; openFromHash(); });
  if (/^#correct\/\d+$/.test(location.hash)) openFromHashWhenSignedIn();
  window.Corrections = { open: openForCorrection, reloadReview: loadReview };
})();
