// Setting up a counter, after its 4 corners (issue 19, item 2): the desk seen from above, where an
// administrator draws the layout's zones (定置图) as rectangles or polygons, edits them (drag a
// corner or the whole zone, rename, delete), picks the standard, saves, and inspects.
// Loaded after app.js: uses its state, t(), el(), $(), notify(), api()/apiJson(), setPhoto(),
// showView() and loadCameras().
"use strict";

Object.assign(TEXT.zh, {
  setup_title: "桌面定置图（俯视）", setup_standard: "定置标准", setup_needed: "标准需要的定置区", setup_zones: "已画的定置区",
  setup_hint: "桌面按标定换算成俯视图（厘米；按客户看到的方向，前沿在下）。选好名称后在图上拖出矩形，或逐点点出多边形；拖动角点或整个区可调整。",
  setup_name: "定置区名称", setup_rect: "矩形", setup_poly: "多边形", setup_rename: "改名", setup_delete: "删除",
  setup_finish: "完成多边形", setup_save: "保存定置图和标准", setup_inspect: "用这张快照检查",
  setup_front: "▼ 前沿（客户侧）", setup_back: "▲ 后沿（工作人员侧）",
  setup_do_rect: "在图上拖动，画出“{name}”的矩形。", setup_do_poly: "逐点点击“{name}”的多边形顶点；点回第一个点或按“完成多边形”结束。",
  setup_poly_more: "已点 {n} 个顶点：继续点击；点回第一个点或按“完成多边形”结束。",
  setup_selected: "已选“{name}”：拖动角点或区内任意处调整；可改名或删除。",
  setup_done: "已画", setup_missing: "未画", setup_draw: "画", setup_kind_zone: "定位区", setup_kind_keep_clear: "保持空置",
  setup_none_needed: "此标准没有定置区规则。", setup_no_zones: "还没有画定置区。",
  setup_saved: "定置图已保存：{file}。", setup_all_there: "标准需要的定置区都已画好，所有规则都会判定。",
  setup_still_missing: "注意：仍缺定置区 {zones}，规则 {rules} 将不判定（不算合格也不算违规）。",
  setup_bad_name: "名称只能用字母、汉字、数字、_ 和 -（最多 64 个字符）。", setup_name_taken: "已有名为“{name}”的定置区。",
  setup_unsaved: "有未保存的改动。", setup_no_snapshot: "此摄像头没有参考快照：只显示桌面网格。",
  setup_inspect_ready: "已选好窗口和快照：请选择检测结果文件（服务器没有检测模型），然后开始检查。",
  setup_vertices: "{name} 顶点（厘米）：{points}", setup_corners: "{n} 个顶点",
  setup_pick: "点选一个定置区来调整；或输入新名称再画。",
});
Object.assign(TEXT.en, {
  setup_title: "Desk layout (定置图), from above", setup_standard: "Standard", setup_needed: "Zones the standard needs", setup_zones: "Zones drawn",
  setup_hint: "The desk top from above, from the calibration (cm; as the customer sees it, the front edge at the bottom). Pick a name, then drag a rectangle on the map, or click a polygon's corners one by one; drag a corner or a whole zone to adjust it.",
  setup_name: "Zone name", setup_rect: "Rectangle", setup_poly: "Polygon", setup_rename: "Rename", setup_delete: "Delete",
  setup_finish: "Finish polygon", setup_save: "Save layout and standard", setup_inspect: "Inspect this snapshot",
  setup_front: "▼ front edge (customer side)", setup_back: "▲ back edge (staff side)",
  setup_do_rect: "Drag on the map to draw the rectangle of “{name}”.", setup_do_poly: "Click the corners of “{name}” one by one; click the first corner again or press “Finish polygon” to close it.",
  setup_poly_more: "{n} corners so far: keep clicking; click the first corner again or press “Finish polygon”.",
  setup_selected: "“{name}” selected: drag a corner or the inside to adjust it; rename or delete it.",
  setup_done: "drawn", setup_missing: "missing", setup_draw: "Draw", setup_kind_zone: "place", setup_kind_keep_clear: "keep clear",
  setup_none_needed: "This standard has no zone rules.", setup_no_zones: "No zones drawn yet.",
  setup_saved: "Layout saved: {file}.", setup_all_there: "Every zone the standard needs is drawn: every rule will be judged.",
  setup_still_missing: "Note: zones {zones} are still missing; rules {rules} will not be judged (neither a pass nor a violation).",
  setup_bad_name: "Use letters, digits, _ and - only (at most 64).", setup_name_taken: "There is already a zone “{name}”.",
  setup_unsaved: "Unsaved changes.", setup_no_snapshot: "This camera has no reference snapshot: the desk grid only.",
  setup_inspect_ready: "Window and snapshot are set: choose the detections file (the server has no detector), then inspect.",
  setup_vertices: "{name} corners (cm): {points}", setup_corners: "{n} corners",
  setup_pick: "Select a zone to adjust it, or type a new name and draw it.",
});

const SETUP_PX_PER_CM = 4;  // the server's desk view (GET /cameras/{id}/desk-view)
const HANDLE_CSS_PX = 9;    // how near (screen px) a press must be to grab a corner
const MIN_RECT_CM = 2;
const ZONE_NAME = /^[\p{L}\p{N}_-]{1,64}$/u;
const SETUP_FONT = '"Desk CJK", system-ui, sans-serif';  // style.css: the bundled CJK font

const setup = {
  camera: null,       // CameraOut of the camera being set up
  standards: [],      // GET /standards
  zones: [],          // [{ name, points: [[x_cm, y_cm], ...] }]
  selected: -1,
  mode: "rect",       // how a press on empty desk starts a zone: rect | poly
  drawing: null,      // { kind: "rect", start, end } | { kind: "poly", points, hover }
  drag: null,         // { zone, vertex (-1: the whole zone), start, original }
  image: null,        // the desk view, or null (grid only)
  snapshotFile: null, // the snapshot just calibrated with (to inspect it)
  dirty: false,
};

// ---------------------------------------------------------------- geometry (desk cm)
function deskBounds() {
  const outline = setup.camera.desk.outline_cm;
  const xs = outline.map((p) => p[0]);
  const ys = outline.map((p) => p[1]);
  return { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys) };
}

// The map is the desk as the customer sees it from above (the corner convention): the front edge
// at the bottom, x to the right, y up, so nothing is mirrored.
function toCanvas([x, y]) {
  const b = deskBounds();
  return [(x - b.minX) * SETUP_PX_PER_CM, (b.maxY - y) * SETUP_PX_PER_CM];
}

function eventCm(event) {
  const canvas = $("#setup-canvas");
  const box = canvas.getBoundingClientRect();
  const b = deskBounds();
  const x = ((event.clientX - box.left) / box.width) * canvas.width / SETUP_PX_PER_CM + b.minX;
  const y = b.maxY - ((event.clientY - box.top) / box.height) * canvas.height / SETUP_PX_PER_CM;
  // on the desk, to half a centimetre
  const snap = (v, lo, hi) => Math.round(Math.min(Math.max(v, lo), hi) * 2) / 2;
  return [snap(x, b.minX, b.maxX), snap(y, b.minY, b.maxY)];
}

function handleCm() {
  const canvas = $("#setup-canvas");
  const box = canvas.getBoundingClientRect();
  return (HANDLE_CSS_PX * canvas.width) / Math.max(box.width, 1) / SETUP_PX_PER_CM;
}

function inside([x, y], points) {
  let hit = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

const near = (a, b, r) => Math.hypot(a[0] - b[0], a[1] - b[1]) <= r;
const round1 = (v) => Math.round(v * 10) / 10;

// ---------------------------------------------------------------- what the standard needs
function currentStandard() {
  return setup.standards.find((s) => s.id === $("#setup-standard").value) || null;
}

// zone name -> [{ rule, kind, classes }] for the picked standard
function neededZones() {
  const needs = new Map();
  for (const need of (currentStandard() || {}).zones || []) {
    if (!needs.has(need.zone)) needs.set(need.zone, []);
    needs.get(need.zone).push(need);
  }
  return needs;
}

function classLabel(standard, classId) {
  const item = standard && standard.items && standard.items[classId];
  if (!item) return classId;
  return state.lang === "zh" ? item.label_zh : item.label_en;
}

function nextMissingName() {
  const drawn = new Set(setup.zones.map((z) => z.name));
  for (const name of neededZones().keys()) if (!drawn.has(name)) return name;
  return "";
}

// ---------------------------------------------------------------- rendering
function renderNeeded() {
  const standard = currentStandard();
  const needs = neededZones();
  const drawn = new Set(setup.zones.map((z) => z.name));
  const list = $("#setup-needed");
  if (!needs.size) { list.replaceChildren(el("li", { class: "hint", text: t("setup_none_needed") })); return; }
  list.replaceChildren(...[...needs.entries()].map(([name, rules]) => {
    const done = drawn.has(name);
    const what = rules.map((r) => {
      const kind = t(`setup_kind_${r.kind}`);
      const items = (r.classes || []).map((c) => classLabel(standard, c)).join("、");
      return items ? `${kind} · ${items}` : kind;
    }).join("; ");
    const item = el("li", { class: done ? "done" : "missing", "data-zone": name },
      el("span", { class: "mark", text: done ? "✓" : "✗" }),
      el("span", { class: "zone-name", text: name }),
      el("span", { class: "state", text: done ? t("setup_done") : t("setup_missing") }),
      el("span", { class: "what", text: `${what} — ${rules.map((r) => r.rule).join(", ")}` }));
    if (!done) {
      item.append(el("button", { type: "button", class: "ghost small", text: t("setup_draw"),
        onclick: () => { $("#setup-name").value = name; setup.selected = -1; setup.drawing = null; renderSetup(); } }));
    } else {
      item.addEventListener("click", () => { setup.selected = setup.zones.findIndex((z) => z.name === name); renderSetup(); });
    }
    return item;
  }));
  $("#setup-names").replaceChildren(...[...needs.keys()].map((name) => el("option", { value: name })));
}

function renderZoneList() {
  const list = $("#setup-list");
  if (!setup.zones.length) { list.replaceChildren(el("li", { class: "hint", text: t("setup_no_zones") })); return; }
  const needs = neededZones();
  list.replaceChildren(...setup.zones.map((zone, index) => el("li", {
    class: `${index === setup.selected ? "selected" : ""} ${needs.has(zone.name) ? "needed" : "extra"}`,
    "data-zone": zone.name,
    onclick: () => { setup.selected = index; setup.drawing = null; renderSetup(); },
  }, el("span", { class: "zone-name", text: zone.name }),
     el("span", { class: "hint", text: t("setup_corners", { n: zone.points.length }) }))));
}

function renderInstruction() {
  const name = $("#setup-name").value.trim() || nextMissingName() || "zone";
  let text;
  if (setup.drawing && setup.drawing.kind === "poly") text = t("setup_poly_more", { n: setup.drawing.points.length });
  else if (setup.selected >= 0) text = t("setup_selected", { name: setup.zones[setup.selected].name });
  else if (!$("#setup-name").value.trim() && !nextMissingName() && setup.zones.length) text = t("setup_pick");
  else text = t(setup.mode === "rect" ? "setup_do_rect" : "setup_do_poly", { name });
  $("#setup-instruction").textContent = text;
  const zone = setup.zones[setup.selected];
  $("#setup-coords").textContent = zone
    ? t("setup_vertices", { name: zone.name, points: zone.points.map((p) => `(${round1(p[0])}, ${round1(p[1])})`).join(" ") })
    : "";
  $("#setup-rect").setAttribute("aria-pressed", String(setup.mode === "rect"));
  $("#setup-poly").setAttribute("aria-pressed", String(setup.mode === "poly"));
  $("#setup-finish").hidden = !(setup.drawing && setup.drawing.kind === "poly");
  $("#setup-delete").disabled = setup.selected < 0;
  $("#setup-rename").disabled = setup.selected < 0;
}

function drawSetup() {
  const canvas = $("#setup-canvas");
  const b = deskBounds();
  const width = Math.round((b.maxX - b.minX) * SETUP_PX_PER_CM);
  const height = Math.round((b.maxY - b.minY) * SETUP_PX_PER_CM);
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  // canvas px per screen px: labels and handles keep their screen size on a phone
  const k = Math.max(1, width / Math.max(canvas.getBoundingClientRect().width, 1));
  ctx.fillStyle = "#3a4150";
  ctx.fillRect(0, 0, width, height);
  if (setup.image) {
    ctx.drawImage(setup.image, 0, 0, width, height);
    ctx.fillStyle = "rgba(0, 0, 0, 0.15)";  // a little darker: the zones read better
    ctx.fillRect(0, 0, width, height);
  }
  // a 10 cm grid, labelled every 20 cm
  ctx.strokeStyle = "rgba(255, 255, 255, 0.22)";
  ctx.lineWidth = 1;
  ctx.font = `${Math.round(11 * k)}px ${SETUP_FONT}`;
  ctx.fillStyle = "rgba(255, 255, 255, 0.75)";
  for (let x = Math.ceil(b.minX / 10) * 10; x <= b.maxX; x += 10) {
    const [px] = toCanvas([x, 0]);
    ctx.beginPath(); ctx.moveTo(px + 0.5, 0); ctx.lineTo(px + 0.5, height); ctx.stroke();
    if (x % 20 === 0 && x > b.minX && x < b.maxX) ctx.fillText(`${x}`, px + 3 * k, 13 * k);  // the back edge: the front is drawn thick
  }
  for (let y = Math.ceil(b.minY / 10) * 10; y <= b.maxY; y += 10) {
    const [, py] = toCanvas([0, y]);
    ctx.beginPath(); ctx.moveTo(0, py + 0.5); ctx.lineTo(width, py + 0.5); ctx.stroke();
    if (y % 20 === 0 && y > b.minY && y < b.maxY) ctx.fillText(`y ${y}`, 3 * k, py - 3 * k);
  }
  // the desk outline, its front edge thick
  const outline = setup.camera.desk.outline_cm.map(toCanvas);
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = 2;
  ctx.beginPath();
  outline.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  ctx.closePath();
  ctx.stroke();
  const front = setup.camera.desk.front_edge;
  const [a, c] = [outline[front], outline[(front + 1) % outline.length]];
  ctx.strokeStyle = "#ffcc00";
  ctx.lineWidth = 6;
  ctx.beginPath(); ctx.moveTo(...a); ctx.lineTo(...c); ctx.stroke();

  const needs = neededZones();
  setup.zones.forEach((zone, index) => {
    const selected = index === setup.selected;
    const points = zone.points.map(toCanvas);
    const colour = needs.has(zone.name) ? (needs.get(zone.name)[0].kind === "keep_clear" ? "255, 120, 80" : "80, 200, 255")
                                        : "200, 200, 200";
    ctx.fillStyle = `rgba(${colour}, ${selected ? 0.35 : 0.22})`;
    ctx.strokeStyle = `rgb(${colour})`;
    ctx.lineWidth = selected ? 3 : 2;
    ctx.setLineDash(needs.has(zone.name) && needs.get(zone.name)[0].kind === "keep_clear" ? [8, 5] : []);
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
    ctx.setLineDash([]);
    // the name, inside the zone near its top-left corner
    const left = Math.min(...points.map((p) => p[0]));
    const top = Math.min(...points.map((p) => p[1]));
    ctx.font = `bold ${Math.round(13 * k)}px ${SETUP_FONT}`;
    const label = zone.name;
    const w = ctx.measureText(label).width + 8 * k;
    const lx = Math.min(Math.max(left + 3 * k, 0), width - w);
    const ly = Math.min(Math.max(top + 3 * k, 0), height - 18 * k);
    ctx.fillStyle = "rgba(17, 17, 17, 0.8)";
    ctx.fillRect(lx, ly, w, 18 * k);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, lx + 4 * k, ly + 13 * k);
    if (selected) {
      points.forEach(([x, y]) => {
        ctx.fillStyle = "#fff";
        ctx.strokeStyle = `rgb(${colour})`;
        ctx.lineWidth = 2 * k;
        ctx.beginPath(); ctx.rect(x - 5 * k, y - 5 * k, 10 * k, 10 * k); ctx.fill(); ctx.stroke();
      });
    }
  });

  const drawing = setup.drawing;
  if (drawing) {
    ctx.strokeStyle = "#ffcc00";
    ctx.fillStyle = "rgba(255, 204, 0, 0.2)";
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 4]);
    const points = drawing.kind === "rect"
      ? rectPoints(drawing.start, drawing.end).map(toCanvas)
      : [...drawing.points, ...(drawing.hover ? [drawing.hover] : [])].map(toCanvas);
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (drawing.kind === "rect") { ctx.closePath(); ctx.fill(); }
    ctx.stroke();
    ctx.setLineDash([]);
    if (drawing.kind === "poly") {
      drawing.points.map(toCanvas).forEach(([x, y], i) => {
        ctx.fillStyle = i === 0 ? "#ffcc00" : "#fff";
        ctx.beginPath(); ctx.arc(x, y, (i === 0 ? 7 : 4) * k, 0, 2 * Math.PI); ctx.fill();
      });
    }
  }
}

function renderSetup() {
  if (!setup.camera) return;
  renderNeeded();
  renderZoneList();
  renderInstruction();
  drawSetup();
}

function rectPoints([x1, y1], [x2, y2]) {
  const [left, right] = [Math.min(x1, x2), Math.max(x1, x2)];
  const [top, bottom] = [Math.min(y1, y2), Math.max(y1, y2)];
  return [[left, top], [right, top], [right, bottom], [left, bottom]];
}

// ---------------------------------------------------------------- editing
function markDirty() {
  setup.dirty = true;
  $("#setup-status").textContent = t("setup_unsaved");
  $("#setup-status").className = "hint warn";
}

function newZoneName() {
  const typed = $("#setup-name").value.trim();
  const taken = new Set(setup.zones.map((z) => z.name));
  if (typed && ZONE_NAME.test(typed) && !taken.has(typed)) return typed;
  const missing = nextMissingName();
  if (missing) return missing;
  let n = setup.zones.length + 1;
  while (taken.has(`zone-${n}`)) n += 1;
  return `zone-${n}`;
}

function addZone(points) {
  setup.zones.push({ name: newZoneName(), points });
  setup.selected = setup.zones.length - 1;
  setup.drawing = null;
  $("#setup-name").value = nextMissingName();
  markDirty();
  renderSetup();
}

function finishPolygon() {
  const drawing = setup.drawing;
  if (!drawing || drawing.kind !== "poly") return;
  if (drawing.points.length >= 3) addZone(drawing.points.slice());
  else { setup.drawing = null; renderSetup(); }
}

function onSetupDown(event) {
  if (!setup.camera) return;
  event.preventDefault();
  const p = eventCm(event);
  const radius = handleCm();
  const drawing = setup.drawing;
  if (drawing && drawing.kind === "poly") {
    if (drawing.points.length >= 3 && near(p, drawing.points[0], radius)) finishPolygon();
    else { drawing.points.push(p); renderSetup(); }
    return;
  }
  // a corner of the selected zone, then of any zone; then the inside of a zone (the topmost)
  const order = setup.selected >= 0 ? [setup.selected, ...setup.zones.keys()] : [...setup.zones.keys()];
  for (const index of order) {
    const vertex = setup.zones[index].points.findIndex((q) => near(p, q, radius));
    if (vertex >= 0) {
      setup.selected = index;
      setup.drag = { zone: index, vertex, start: p, original: setup.zones[index].points.map((q) => q.slice()) };
      $("#setup-canvas").setPointerCapture(event.pointerId);
      renderSetup();
      return;
    }
  }
  for (let index = setup.zones.length - 1; index >= 0; index -= 1) {
    if (inside(p, setup.zones[index].points)) {
      setup.selected = index;
      setup.drag = { zone: index, vertex: -1, start: p, original: setup.zones[index].points.map((q) => q.slice()) };
      $("#setup-canvas").setPointerCapture(event.pointerId);
      renderSetup();
      return;
    }
  }
  setup.selected = -1;
  if (setup.mode === "rect") {
    setup.drawing = { kind: "rect", start: p, end: p };
    $("#setup-canvas").setPointerCapture(event.pointerId);
  } else {
    setup.drawing = { kind: "poly", points: [p], hover: null };
  }
  renderSetup();
}

function onSetupMove(event) {
  if (!setup.camera) return;
  const p = eventCm(event);
  if (setup.drag) {
    const { zone, vertex, start, original } = setup.drag;
    const b = deskBounds();
    if (vertex >= 0) {
      setup.zones[zone].points[vertex] = p;
    } else {
      // the whole zone, kept on the desk
      const xs = original.map((q) => q[0]);
      const ys = original.map((q) => q[1]);
      const dx = Math.min(Math.max(p[0] - start[0], b.minX - Math.min(...xs)), b.maxX - Math.max(...xs));
      const dy = Math.min(Math.max(p[1] - start[1], b.minY - Math.min(...ys)), b.maxY - Math.max(...ys));
      setup.zones[zone].points = original.map(([x, y]) => [x + dx, y + dy]);
    }
    drawSetup();
    renderInstruction();
  } else if (setup.drawing && setup.drawing.kind === "rect") {
    setup.drawing.end = p;
    drawSetup();
  } else if (setup.drawing && setup.drawing.kind === "poly") {
    setup.drawing.hover = p;
    drawSetup();
  }
}

function onSetupUp() {
  if (setup.drag) {
    const { zone, original } = setup.drag;
    setup.drag = null;
    if (JSON.stringify(original) !== JSON.stringify(setup.zones[zone].points)) markDirty();
    renderSetup();
  } else if (setup.drawing && setup.drawing.kind === "rect") {
    const { start, end } = setup.drawing;
    if (Math.abs(end[0] - start[0]) >= MIN_RECT_CM && Math.abs(end[1] - start[1]) >= MIN_RECT_CM) addZone(rectPoints(start, end));
    else { setup.drawing = null; renderSetup(); }
  }
}

function renameZone() {
  const zone = setup.zones[setup.selected];
  const name = $("#setup-name").value.trim();
  if (!zone || name === zone.name) return;
  if (!ZONE_NAME.test(name)) return notify(t("setup_bad_name"));
  if (setup.zones.some((z) => z.name === name)) return notify(t("setup_name_taken", { name }));
  notify("");
  zone.name = name;
  markDirty();
  renderSetup();
}

function deleteZone() {
  if (setup.selected < 0) return;
  setup.zones.splice(setup.selected, 1);
  setup.selected = -1;
  $("#setup-name").value = nextMissingName();
  markDirty();
  renderSetup();
}

// ---------------------------------------------------------------- loading, saving, inspecting
async function loadStandards() {
  if (setup.standards.length) return;
  setup.standards = (await apiJson("standards")).standards;
}

async function loadDeskView(camera) {
  setup.image = null;
  if (!camera.has_snapshot) { $("#setup-status").textContent = t("setup_no_snapshot"); return; }
  const blob = await (await api(`cameras/${encodeURIComponent(camera.camera_id)}/desk-view`)).blob();
  if (state.objectUrls.setup) URL.revokeObjectURL(state.objectUrls.setup);
  state.objectUrls.setup = URL.createObjectURL(blob);
  const image = new Image();
  await new Promise((resolve, reject) => { image.onload = resolve; image.onerror = reject; image.src = state.objectUrls.setup; });
  setup.image = image;
}

function renderStandardOptions(picked) {
  const select = $("#setup-standard");
  select.replaceChildren(...setup.standards.map((s) => el("option", {
    value: s.id, title: `${s.id} v${s.version}`, text: `${state.lang === "zh" ? s.name_zh : s.name_en} · v${s.version}` })));
  select.value = picked;
}

async function openSetup(camera, snapshotFile = null) {
  try {
    await loadStandards();
    setup.camera = camera;
    setup.zones = Object.entries(camera.zones || {}).map(([name, points]) => ({ name, points: points.map((p) => p.slice()) }));
    setup.selected = -1;
    setup.drawing = null;
    setup.dirty = false;
    setup.snapshotFile = snapshotFile;
    renderStandardOptions(camera.standard.id);
    $("#setup-camera").textContent = camera.camera_id;
    $("#setup-status").textContent = "";
    $("#setup-status").className = "hint";
    $("#setup-zones").hidden = false;
    $("#setup-inspect").disabled = !camera.has_snapshot && !snapshotFile;
    await loadDeskView(camera);
    $("#setup-name").value = nextMissingName();
    renderSetup();
    showMissing(camera);
    if (document.fonts) document.fonts.ready.then(() => drawSetup());  // labels in the CJK font once it is there
  } catch (error) { notify(error.message); }
}

function showMissing(camera) {
  const missing = camera.missing_zones || {};
  const rules = Object.keys(missing);
  const status = $("#setup-status");
  if (!rules.length) {
    if (setup.zones.length) { status.textContent = t("setup_all_there"); status.className = "hint ok"; }
    return;
  }
  const zones = [...new Set(Object.values(missing).flat())];
  status.textContent = t("setup_still_missing", { zones: zones.join(", "), rules: rules.join(", ") });
  status.className = "hint warn";
}

async function saveSetup() {
  if (!setup.camera) return;
  if (setup.drawing && setup.drawing.kind === "poly") finishPolygon();
  const body = { zones: Object.fromEntries(setup.zones.map((z) => [z.name, z.points.map(([x, y]) => [round1(x), round1(y)])])),
                 standard: $("#setup-standard").value || null };
  $("#setup-save").disabled = true;
  try {
    const camera = await apiJson(`cameras/${encodeURIComponent(setup.camera.camera_id)}/layout`, {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    setup.camera = camera;
    setup.dirty = false;
    notify("");
    const status = $("#setup-status");
    status.textContent = t("setup_saved", { file: `${camera.camera_id}.yaml` });
    status.className = "hint ok";
    const saved = status.textContent;
    showMissing(camera);
    if (status.textContent !== saved) status.textContent = `${saved} ${status.textContent}`;
    $("#setup-inspect").disabled = false;
    await loadCameras();
    renderSetup();
  } catch (error) {
    notify(error.message);
  } finally {
    $("#setup-save").disabled = false;
  }
}

async function inspectSnapshot() {
  const camera = setup.camera;
  if (!camera) return;
  try {
    let file = setup.snapshotFile;
    if (!file) {
      const blob = await (await api(`cameras/${encodeURIComponent(camera.camera_id)}/snapshot`)).blob();
      file = new File([blob], `${camera.camera_id}-reference${blob.type === "image/png" ? ".png" : ".jpg"}`, { type: blob.type });
    }
    showView("inspect");
    $("#camera-select").value = camera.camera_id;
    setPhoto(file);
    if (state.ready && state.ready.detections_required && !$("#detections-input").files.length) {
      $("#advanced").open = true;
      notify(t("setup_inspect_ready"), "ok");
      return;
    }
    $("#inspect-form").requestSubmit();
  } catch (error) { notify(error.message); }
}

function onCalibCameraChosen() {
  const camera = state.cameras.find((c) => c.camera_id === $("#calib-camera").value.trim());
  if (camera) openSetup(camera);
  else { $("#setup-zones").hidden = true; setup.camera = null; }
}

// ---------------------------------------------------------------- wiring
function wireSetup() {
  const canvas = $("#setup-canvas");
  canvas.addEventListener("pointerdown", onSetupDown);
  canvas.addEventListener("pointermove", onSetupMove);
  canvas.addEventListener("pointerup", onSetupUp);
  canvas.addEventListener("pointercancel", onSetupUp);
  canvas.addEventListener("dblclick", (event) => { event.preventDefault(); finishPolygon(); });
  canvas.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { setup.drawing = null; renderSetup(); }
    else if (event.key === "Enter") finishPolygon();
    else if (event.key === "Delete" || event.key === "Backspace") deleteZone();
  });
  $("#setup-rect").addEventListener("click", () => { setup.mode = "rect"; setup.drawing = null; setup.selected = -1; renderSetup(); });
  $("#setup-poly").addEventListener("click", () => { setup.mode = "poly"; setup.drawing = null; setup.selected = -1; renderSetup(); });
  $("#setup-finish").addEventListener("click", finishPolygon);
  $("#setup-rename").addEventListener("click", renameZone);
  $("#setup-delete").addEventListener("click", deleteZone);
  $("#setup-name").addEventListener("input", renderInstruction);
  $("#setup-name").addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); renameZone(); } });
  $("#setup-standard").addEventListener("change", () => { markDirty(); if (!$("#setup-name").value) $("#setup-name").value = nextMissingName(); renderSetup(); });
  $("#setup-save").addEventListener("click", saveSetup);
  $("#setup-inspect").addEventListener("click", inspectSnapshot);
  $("#calib-camera").addEventListener("change", onCalibCameraChosen);
  document.addEventListener("calibration-saved", (event) => openSetup(event.detail.camera, state.calib.file));
  $("#lang-toggle").addEventListener("click", () => {
    $("#setup-name").placeholder = t("setup_name");
    if (setup.camera) { renderStandardOptions($("#setup-standard").value); renderSetup(); showMissing(setup.camera); }
  });
  $("#setup-name").placeholder = t("setup_name");
  window.addEventListener("resize", () => { if (setup.camera) drawSetup(); });
}

wireSetup();
applyLanguage();  // app.js translated the page before these texts were added
