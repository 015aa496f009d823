// Supervisor page: the same REST API the dashboard uses, with the API key kept in this browser.
"use strict";

const API = "/api/v1";
const KEY_STORAGE = "desk-inspector.api-key";
const LANG_STORAGE = "desk-inspector.lang";
const CORNERS = ["front_left", "front_right", "back_right", "back_left"];

const TEXT = {
  zh: {
    title: "桌面定置检查", tab_inspect: "检查", tab_history: "历史", tab_calibrate: "标定",
    key_button: "API 密钥", key_label: "API 密钥（X-API-Key）", save: "保存",
    key_hint: "密钥只保存在本浏览器中，每次请求时随 X-API-Key 头发送。",
    key_needed: "请先输入 API 密钥。", key_bad: "API 密钥无效，请重新输入。", key_saved: "密钥已保存。",
    camera: "窗口（摄像头）", drop: "拖入桌面照片，或点击选择", advanced: "高级：检测结果文件（JSON）",
    detections_hint: "可选：用已有的检测结果代替服务器上的检测模型。",
    detections_required: "服务器未加载检测模型：请同时选择检测结果文件（JSON）。",
    inspect: "开始检查", busy: "检查中…", annotated: "标注照片", deskmap: "桌面俯视图",
    violations: "违规项", items: "检测到的物品", item: "物品", confidence: "置信度", position: "位置（厘米）",
    permitted: "允许", yes: "是", no: "否", pass: "合格", fail: "不合格", score: "得分",
    no_violations: "没有违规项。", no_sure_violations: "没有确定的违规项；请看下面待核查的结果。", measured: "实测", required: "要求", major: "严重", minor: "一般",
    latest: "各窗口最新状态", recent: "最近检查", all_cameras: "全部窗口", all_results: "全部结果",
    refresh: "刷新", time: "时间", camera_short: "窗口", result: "结果", violation_count: "违规数", photo: "照片",
    more: "加载更多", never: "尚无检查", not_configured: "（未配置）", open: "查看",
    camera_id: "摄像头编号", snapshot: "快照", load_reference: "载入当前参考快照",
    width: "桌面宽度（厘米，沿前沿）", depth: "桌面进深（厘米）", undo: "撤销一点", reset: "重新点选",
    save_calibration: "保存标定", choose_snapshot: "先选择一张快照。",
    click_corner: "请点击桌面角点 {n}/4：{corner}", all_clicked: "四个角点已选好，可以保存。",
    front_left: "前左", front_right: "前右", back_right: "后右", back_left: "后左",
    corner_rule: "按客户面对柜台看到的方向：1 左前、2 右前、3 右后、4 左后（“前”是面向客户的桌沿）。若顺序点反（如从工作人员座位看），系统会识别并自动纠正。",
    four_points_note: "4 个角点恰好确定桌面映射，重投影误差必为 0；桌面位置误差是按点选误差估计的测量误差。",
    calib_saved: "标定已保存：{file}", reprojection: "重投影误差", position_error: "桌面位置误差",
    median: "中位", max: "最大", pick_photo: "请选择一张照片。", pick_camera: "请选择窗口。",
    no_cameras: "服务器上没有已配置的摄像头。", unit_count: "个", items_count: "{n} 件物品", warn: "提示",
    violations_count: "{n} 项违规",
    inspected: "检查时间 {time} · 照片 {image} · 标准 {standard}",
    check: "请人工核查", check_short: "待核查", check_detail: "没有确定的违规，但有结果距限值不到其测量不确定度",
    checks_count: "{n} 项待核查", check_by_eye: "待人工核查",
    check_hint: "实测值与限值之差小于其扩展不确定度 U（k=2，约 95%）：照片看不准，请到现场或看照片确认。差距最大的在前。",
    conditional_fail: "可能不合格", conditional_pass: "可能合格",
    off_limit: "超出限值 {gap}（{u} U）", within_limit: "距限值 {gap}（{u} U）",
    not_judged: "未判定", not_judged_hint: "以下规则对这些物品无法判定（不算合格，也不算违规）：",
    uncertainty: "不确定度 ±U（厘米）", edge_front: "前", edge_back: "后", edge_left: "左", edge_right: "右",
    item_not_judged: "未判定",
  },
  en: {
    title: "Desk layout inspector", tab_inspect: "Inspect", tab_history: "History", tab_calibrate: "Calibrate",
    key_button: "API key", key_label: "API key (X-API-Key)", save: "Save",
    key_hint: "The key is kept in this browser only and sent in the X-API-Key header with each request.",
    key_needed: "Enter the API key first.", key_bad: "The API key was refused; enter it again.", key_saved: "Key saved.",
    camera: "Window (camera)", drop: "Drop a desk photo here, or click to choose", advanced: "Advanced: detections file (JSON)",
    detections_hint: "Optional: use ready-made detections instead of the server's detector.",
    detections_required: "No detector model on the server: choose a detections file (JSON) too.",
    inspect: "Inspect", busy: "Inspecting…", annotated: "Annotated photo", deskmap: "Desk map (bird's-eye)",
    violations: "Violations", items: "Detected items", item: "Item", confidence: "Confidence", position: "Position (cm)",
    permitted: "Permitted", yes: "yes", no: "no", pass: "PASS", fail: "FAIL", score: "Score",
    no_violations: "No violations.", no_sure_violations: "No sure violations; see the results to check below.", measured: "measured", required: "required", major: "major", minor: "minor",
    latest: "Latest per window", recent: "Recent inspections", all_cameras: "All windows", all_results: "All results",
    refresh: "Refresh", time: "Time", camera_short: "Window", result: "Result", violation_count: "Violations", photo: "Photo",
    more: "Load more", never: "not inspected yet", not_configured: "(not configured)", open: "Open",
    camera_id: "Camera id", snapshot: "Snapshot", load_reference: "Load the current reference snapshot",
    width: "Desk width (cm, along the front)", depth: "Desk depth (cm)", undo: "Undo point", reset: "Start over",
    save_calibration: "Save calibration", choose_snapshot: "Choose a snapshot first.",
    click_corner: "Click desk corner {n}/4: {corner}", all_clicked: "All four corners set; you can save.",
    front_left: "front-left", front_right: "front-right", back_right: "back-right", back_left: "back-left",
    corner_rule: "As the customer facing the counter sees the desk: 1 front-left, 2 front-right, 3 back-right, 4 back-left (front = the customer-facing edge). A mirrored order (e.g. clicked from the staff chair) is recognised and corrected.",
    four_points_note: "Four corners fix the desk mapping exactly, so the reprojection error is 0; the position error estimates how far a clicking error moves a point on the desk.",
    calib_saved: "Calibration saved: {file}", reprojection: "Reprojection error", position_error: "Position error on the desk",
    median: "median", max: "max", pick_photo: "Choose a photo.", pick_camera: "Choose a window.",
    no_cameras: "No cameras are configured on the server.", unit_count: "", items_count: "{n} items", warn: "Note",
    violations_count: "{n} violations",
    inspected: "Inspected {time} · photo {image} · standard {standard}",
    check: "Check by eye", check_short: "CHECK", check_detail: "nothing surely failed, but a result is within its measurement uncertainty of the limit",
    checks_count: "{n} to check", check_by_eye: "Check by eye",
    check_hint: "The measured value is closer to the limit than its expanded uncertainty U (k = 2, about 95 %): the photo cannot tell; look at the desk or the photo. Furthest past the limit first.",
    conditional_fail: "likely fail", conditional_pass: "likely pass",
    off_limit: "{gap} past the limit ({u} U)", within_limit: "{gap} inside the limit ({u} U)",
    not_judged: "Not judged", not_judged_hint: "These rules could not be judged for these items (neither a pass nor a violation):",
    uncertainty: "Uncertainty ±U (cm)", edge_front: "F", edge_back: "B", edge_left: "L", edge_right: "R",
    item_not_judged: "not judged",
  },
};

const state = {
  lang: localStorage.getItem(LANG_STORAGE) || "zh",
  key: localStorage.getItem(KEY_STORAGE) || "",
  ready: null,
  cameras: [],
  current: null,          // the inspection shown
  historyOffset: 0,
  objectUrls: {},
  calib: { image: null, file: null, points: [] },
};

const $ = (selector) => document.querySelector(selector);

function t(key, values = {}) {
  let text = (TEXT[state.lang] && TEXT[state.lang][key]) ?? TEXT.zh[key] ?? key;
  for (const [name, value] of Object.entries(values)) text = text.replace(`{${name}}`, value);
  return text;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

// ---------------------------------------------------------------- messages, language, key
function notify(message, kind = "error") {
  const box = $("#notice");
  box.textContent = message;
  box.className = `notice ${kind}`;
  box.hidden = !message;
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
  $("#lang-toggle").textContent = state.lang === "zh" ? "English" : "中文";
  $("#lang-toggle").lang = state.lang === "zh" ? "en" : "zh-CN";
  document.title = `${t("title")} · Desk layout inspector`;
  if (state.ready && state.ready.detections_required) $("#model-hint").textContent = t("detections_required");
  if (state.current) renderResult(state.current, false);
  if (state.cameras.length) renderCameraOptions();
  renderCalibInstruction();
}

function showKeyPanel(message) {
  $("#key-panel").hidden = false;
  $("#key-input").value = state.key;
  $("#key-input").focus();
  if (message) notify(message);
}

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, options = {}) {
  const auth = Auth.headers(options.method);  // auth.js: the API key, or the session's CSRF token
  if (!auth) { Auth.ask(); throw new ApiError(401, t("signin_needed")); }
  const response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, {
    ...options, headers: { ...(options.headers || {}), ...auth },
  });
  if (response.status === 401) throw new ApiError(401, Auth.refused());
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { const body = await response.json(); if (body.detail) detail = body.detail; } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response;
}

async function apiJson(path, options) { return (await api(path, options)).json(); }

async function loadPicture(img, path, slot) {
  // <img src> cannot send the key header: fetch the picture and show it from a blob URL
  const blob = await (await api(path)).blob();
  if (state.objectUrls[slot]) URL.revokeObjectURL(state.objectUrls[slot]);
  state.objectUrls[slot] = URL.createObjectURL(blob);
  img.src = state.objectUrls[slot];
}

// ---------------------------------------------------------------- views
function showView(name) {
  document.querySelectorAll(".tab").forEach((tab) => tab.classList.toggle("active", tab.dataset.view === name));
  document.querySelectorAll(".view").forEach((view) => { view.hidden = view.id !== `view-${name}`; });
  notify("");
  if (name === "history") loadHistory(true);
  document.dispatchEvent(new CustomEvent("view-shown", { detail: name }));  // corrections.js: the review tab
}

async function loadReady() {
  try {
    state.ready = await (await fetch(`${API}/ready`)).json();
  } catch (_) { state.ready = null; }
  if (state.ready && state.ready.detections_required) {
    $("#advanced").open = true;
    $("#model-hint").textContent = t("detections_required");
    $("#model-hint").classList.add("warn");
  }
}

function renderCameraOptions() {
  const previous = $("#camera-select").value || localStorage.getItem("desk-inspector.camera");
  const filter = $("#history-camera").value;
  for (const select of [$("#camera-select"), $("#history-camera")]) {
    const keepFirst = select.id === "history-camera";
    while (select.options.length > (keepFirst ? 1 : 0)) select.remove(select.options.length - 1);
    for (const camera of state.cameras) {
      const standard = state.lang === "zh" ? camera.standard.name_zh : camera.standard.name_en;
      select.append(el("option", { value: camera.camera_id, text: `${camera.camera_id} · ${standard}` }));
    }
  }
  if (previous && state.cameras.some((c) => c.camera_id === previous)) $("#camera-select").value = previous;
  $("#history-camera").value = filter;
}

async function loadCameras() {
  const data = await apiJson("cameras");
  state.cameras = data.cameras;
  renderCameraOptions();
  const list = $("#calib-cameras");
  list.replaceChildren(...state.cameras.map((camera) => el("option", { value: camera.camera_id })));
  if (!state.cameras.length) notify(t("no_cameras"));
}

// ---------------------------------------------------------------- inspect
function setPhoto(file) {
  const input = $("#photo-input");
  if (file && input.files[0] !== file) {
    const transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
  }
  $("#photo-name").textContent = file ? `${file.name} · ${(file.size / 1024).toFixed(0)} KB` : "";
}

async function submitInspection(event) {
  event.preventDefault();
  const cameraId = $("#camera-select").value;
  const photo = $("#photo-input").files[0];
  const detections = $("#detections-input").files[0];
  if (!cameraId) return notify(t("pick_camera"));
  if (!photo) return notify(t("pick_photo"));
  if (!detections && state.ready && state.ready.detections_required) {
    $("#advanced").open = true;
    return notify(t("detections_required"));
  }
  localStorage.setItem("desk-inspector.camera", cameraId);
  const form = new FormData();
  form.append("camera_id", cameraId);
  form.append("image", photo, photo.name);
  if (detections) form.append("detections", detections, detections.name);
  notify("");
  $("#busy").hidden = false;
  $("#inspect-button").disabled = true;
  try {
    const inspection = await apiJson("inspections", { method: "POST", body: form });
    await showInspection(inspection);
  } catch (error) {
    notify(error.message);
  } finally {
    $("#busy").hidden = true;
    $("#inspect-button").disabled = false;
  }
}

async function showInspection(inspection) {
  state.current = inspection;
  showView("inspect");
  renderResult(inspection, true);
  document.dispatchEvent(new CustomEvent("inspection-shown", { detail: inspection }));  // corrections.js
  const pictures = [];
  if (inspection.links.annotated) pictures.push(loadPicture($("#annotated-img"), inspection.links.annotated, "annotated"));
  if (inspection.links.desk_map) pictures.push(loadPicture($("#deskmap-img"), inspection.links.desk_map, "deskmap"));
  try { await Promise.all(pictures); } catch (error) { notify(error.message); }
  $("#result").scrollIntoView({ behavior: "smooth", block: "start" });
}

function fmt(value, digits = 1) {
  if (value === null || value === undefined) return "–";
  const text = Number(value).toFixed(digits);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

function unitText(unit) {
  if (unit === "deg") return "°";
  if (unit === "count") return t("unit_count");
  return unit ? ` ${unit}` : "";
}

// how the measured value must stand to the required one, per rule kind (the report says which
// kind; the limit's side is the kind's)
const LIMIT_SIGN = { edge_margin: "≥", required: "≥", zone: "≤", keep_clear: "≤", alignment: "≤" };
const DECISION_RANK = { fail: 0, conditional_fail: 1, conditional_pass: 2 };

// How far past the limit a result is, in units of its uncertainty U: positive past it (a fail),
// negative inside it (a conditional pass); a fail without a measured value or U is certain.
function pastLimit(v) {
  if (v.measured === null || v.measured === undefined || v.required === null || v.required === undefined) {
    return v.decision === "conditional_pass" ? -Infinity : Infinity;
  }
  const gap = Math.abs(v.measured - v.required);
  const scaled = v.uncertainty ? gap / v.uncertainty : Infinity;
  return v.decision === "conditional_pass" ? -scaled : scaled;
}

// Worst first: sure fails, then conditional fails, then conditional passes; major before minor
// among sure fails; then the furthest past the limit relative to U.
function worstFirst(a, b) {
  const rank = (DECISION_RANK[a.decision || "fail"] ?? 0) - (DECISION_RANK[b.decision || "fail"] ?? 0);
  if (rank) return rank;
  if ((a.decision || "fail") === "fail" && a.severity !== b.severity) return a.severity === "major" ? -1 : 1;
  return pastLimit(b) - pastLimit(a) || 0;
}

function verdictOf(report) {
  if (report.verdict) return report.verdict;
  return report.compliant === true ? "pass" : report.compliant === false ? "fail" : null;
}

function valueText(v) {
  const digits = v.unit === "count" ? 0 : 2;
  let text = fmt(v.measured, digits);
  if (v.uncertainty !== null && v.uncertainty !== undefined) text += ` ± ${fmt(v.uncertainty, digits)}`;
  return text + unitText(v.unit);
}

function resultItem(v) {
  const decision = v.decision || "fail";
  const message = state.lang === "zh" ? v.message_zh : v.message_en;
  const values = [];
  if (v.measured !== null && v.measured !== undefined) values.push(`${t("measured")} ${valueText(v)}`);
  if (v.required !== null && v.required !== undefined) {
    const sign = LIMIT_SIGN[v.kind] ? `${LIMIT_SIGN[v.kind]} ` : "";
    values.push(`${t("required")} ${sign}${fmt(v.required, 2)}${unitText(v.unit)}`);
  }
  if (decision !== "fail" && v.measured != null && v.required != null && v.uncertainty) {
    const gap = `${fmt(Math.abs(v.measured - v.required), 2)}${unitText(v.unit)}`;
    const u = fmt(Math.abs(v.measured - v.required) / v.uncertainty, 1);
    values.push(t(decision === "conditional_fail" ? "off_limit" : "within_limit", { gap, u }));
  }
  const items = (v.item_ids || []).map((id) => `#${id}`).join(" ");
  const sure = decision === "fail";
  return el("li", { class: `violation ${sure ? v.severity : "check"}`, "data-decision": decision, "data-rule": v.rule },
    el("span", { class: `severity ${sure ? v.severity : "check"}`, text: sure ? t(v.severity) : t(decision) }),
    el("div", { class: "violation-body" },
      el("p", { class: "message", text: message }),
      el("p", { class: "values", text: [values.join(" · "), items, v.rule].filter(Boolean).join("  ·  ") })));
}

function renderResult(inspection, fresh) {
  const report = inspection.report || {};
  const result = $("#result");
  result.hidden = false;
  const banner = $("#verdict");
  const verdict = verdictOf(report) || "fail";
  const all = [...(report.violations || []), ...(report.conditional_passes || [])].sort(worstFirst);
  const sure = all.filter((v) => (v.decision || "fail") === "fail");
  const checks = all.filter((v) => (v.decision || "fail") !== "fail");
  banner.className = `banner ${verdict}`;
  banner.dataset.verdict = verdict;
  const counts = [t("violations_count", { n: sure.length })];
  if (checks.length) counts.push(t("checks_count", { n: checks.length }));
  banner.replaceChildren(
    el("span", { class: "verdict-word", text: t(verdict) }),
    el("span", { class: "verdict-detail",
      text: `${inspection.camera_id} · ${t("score")} ${fmt((report.score ?? 0) * 100, 0)}% · ` +
            `${counts.join(" · ")} · ${t("items_count", { n: (report.items || []).length })}` }),
    ...(verdict === "check" ? [el("span", { class: "verdict-note", text: t("check_detail") })] : []),
  );
  const when = new Date(inspection.inspected_at).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB");
  $("#result-meta").textContent = t("inspected", {
    time: when, image: inspection.image_name, standard: report.standard ? `${report.standard.id} v${report.standard.version}` : "–",
  });

  const list = $("#violations");
  list.replaceChildren(...sure.map(resultItem));
  if (!sure.length) {
    list.replaceChildren(checks.length ? el("li", { class: "none neutral", text: t("no_sure_violations") })
                                       : el("li", { class: "none", text: t("no_violations") }));
  }
  $("#checks-block").hidden = !checks.length;
  $("#checks").replaceChildren(...checks.map(resultItem));

  const notJudged = report.not_judged || [];
  $("#not-judged-block").hidden = !notJudged.length;
  $("#not-judged").replaceChildren(...notJudged.map((entry) => el("li", { "data-rule": entry.rule },
    el("span", { class: "rule", text: `${entry.rule}` }),
    el("span", { class: "ids", text: (entry.item_ids || []).map((id) => `#${id}`).join(" ") }),
    el("span", { class: "reason", text: state.lang === "zh" ? entry.reason_zh : entry.reason_en }))));

  $("#warnings").replaceChildren(...(report.warnings || []).map((w) => el("li", { text: `${t("warn")}: ${w}` })));

  const body = $("#items tbody");
  const edges = ["front", "back", "left", "right"];
  body.replaceChildren(...(report.items || []).map((item) => el("tr", { class: item.permitted ? "" : "bad" },
    el("td", { text: `#${item.id}` }),
    el("td", { text: (state.lang === "zh" ? `${item.label_zh}（${item.class}）` : item.class.replaceAll("_", " ")) +
                     (item.judged === false ? ` · ${t("item_not_judged")}` : "") }),
    el("td", { text: fmt(item.confidence, 2) }),
    el("td", { text: `${fmt(item.center_cm[0])}, ${fmt(item.center_cm[1])}` }),
    el("td", { class: "num", text: item.uncertainty_cm
      ? edges.filter((e) => e in item.uncertainty_cm).map((e) => `${t(`edge_${e}`)} ${fmt(item.uncertainty_cm[e], 1)}`).join(" ")
      : "–" }),
    el("td", { text: item.permitted ? t("yes") : t("no") }))));
  if (fresh) {
    $("#annotated-img").alt = t("annotated");
    $("#deskmap-img").alt = t("deskmap");
  }
}

// ---------------------------------------------------------------- history
function summaryVerdict(summary) {
  if (summary.verdict) return summary.verdict;
  return summary.compliant === true ? "pass" : summary.compliant === false ? "fail" : null;
}

function verdictBadge(summary) {
  const verdict = summaryVerdict(summary);
  if (verdict) return el("span", { class: `badge ${verdict}`, text: t(verdict === "check" ? "check_short" : verdict) });
  return el("span", { class: "badge other", text: summary.status });
}

// Sure violations, and the results to check by eye when there are any (older rows: the count stored).
function countsText(summary, named = true) {
  const sure = summary.fail_count ?? summary.violation_count;
  const text = named ? `${t("violation_count")} ${sure}` : String(sure);
  return summary.check_count ? `${text} · ${t("checks_count", { n: summary.check_count })}` : text;
}

function localTime(iso) {
  return iso ? new Date(iso).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB") : "–";
}

async function openInspection(id) {
  try { await showInspection(await apiJson(`inspections/${id}`)); } catch (error) { notify(error.message); }
}

async function loadHistory(reset) {
  try {
    if (reset) {
      state.historyOffset = 0;
      const latest = await apiJson("inspections/latest");
      $("#tiles").replaceChildren(...latest.cameras.map((tile) => {
        const summary = tile.latest;
        const card = el("button", { type: "button", class: `tile ${summary ? (summaryVerdict(summary) || "other") : "empty"}` },
          el("span", { class: "tile-camera", text: tile.camera_id + (tile.configured ? "" : ` ${t("not_configured")}`) }),
          summary ? verdictBadge(summary) : el("span", { class: "badge other", text: t("never") }),
          el("span", { class: "tile-time", text: summary ? localTime(summary.captured_at || summary.inspected_at) : "" }),
          el("span", { class: "tile-detail",
            text: summary ? `${t("score")} ${fmt((summary.score ?? 0) * 100, 0)}% · ${countsText(summary)}` : "" }));
        if (summary) card.addEventListener("click", () => openInspection(summary.id));
        else card.disabled = true;
        return card;
      }));
      $("#history-table tbody").replaceChildren();
    }
    const params = new URLSearchParams({ limit: "20", offset: String(state.historyOffset) });
    if ($("#history-camera").value) params.set("camera_id", $("#history-camera").value);
    if ($("#history-compliant").value) params.set("compliant", $("#history-compliant").value);
    const page = await apiJson(`inspections?${params}`);
    const body = $("#history-table tbody");
    for (const row of page.items) {
      body.append(el("tr", {},
        el("td", { text: localTime(row.captured_at || row.inspected_at) }),
        el("td", { text: row.camera_id }),
        el("td", {}, verdictBadge(row)),
        el("td", { text: row.score === null ? "–" : `${fmt(row.score * 100, 0)}%` }),
        el("td", { text: countsText(row, false) }),
        el("td", {}, el("button", { type: "button", class: "link", text: `${t("open")} · ${row.image_name}`,
          onclick: () => openInspection(row.id) }))));
    }
    state.historyOffset += page.items.length;
    $("#history-more").hidden = state.historyOffset >= page.total;
  } catch (error) {
    notify(error.message);
  }
}

// ---------------------------------------------------------------- calibration
function renderCalibInstruction() {
  const n = state.calib.points.length;
  let text;
  if (!state.calib.image) text = t("choose_snapshot");
  else if (n < 4) text = t("click_corner", { n: n + 1, corner: t(CORNERS[n]) });
  else text = t("all_clicked");
  $("#calib-instruction").textContent = text;
  $("#calib-rule").textContent = t("corner_rule");
  $("#calib-save").disabled = !(state.calib.image && n === 4);
}

function drawCalibration() {
  const canvas = $("#calib-canvas");
  const ctx = canvas.getContext("2d");
  const image = state.calib.image;
  if (!image) { ctx.clearRect(0, 0, canvas.width, canvas.height); renderCalibInstruction(); return; }
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  ctx.drawImage(image, 0, 0);
  const points = state.calib.points;
  const scale = Math.max(image.naturalWidth / 640, 1);
  ctx.lineWidth = 2 * scale;
  ctx.strokeStyle = "#ffcc00";
  ctx.fillStyle = "rgba(255, 204, 0, 0.18)";
  if (points.length > 1) {
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (points.length === 4) { ctx.closePath(); ctx.fill(); }
    ctx.stroke();
  }
  ctx.font = `bold ${Math.round(14 * scale)}px "Desk CJK", system-ui, sans-serif`;  // the bundled CJK font (style.css)
  points.forEach(([x, y], i) => {
    ctx.beginPath();
    ctx.fillStyle = i < 2 ? "#e5484d" : "#0090ff";  // front corners red: the customer-facing edge
    ctx.arc(x, y, 6 * scale, 0, 2 * Math.PI);
    ctx.fill();
    const label = `${i + 1} ${t(CORNERS[i])}`;
    const width = ctx.measureText(label).width + 8 * scale;
    // keep the label inside the picture: to the left of points near the right edge
    const left = x + 8 * scale + width > canvas.width ? x - 8 * scale - width : x + 8 * scale;
    const top = Math.max(y - 20 * scale, 0);
    ctx.fillStyle = "#111";
    ctx.fillRect(left, top, width, 22 * scale);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, left + 4 * scale, top + 16 * scale);
  });
  renderCalibInstruction();
}

function setCalibImage(source, file) {
  const image = new Image();
  image.onload = () => { state.calib.image = image; state.calib.points = []; drawCalibration(); };
  image.onerror = () => notify("snapshot cannot be shown");
  image.src = source;
  state.calib.file = file;
}

function canvasPoint(event) {
  const canvas = $("#calib-canvas");
  const box = canvas.getBoundingClientRect();
  return [
    Math.round(((event.clientX - box.left) / box.width) * canvas.width * 10) / 10,
    Math.round(((event.clientY - box.top) / box.height) * canvas.height * 10) / 10,
  ];
}

function onCalibCamera() {
  const camera = state.cameras.find((c) => c.camera_id === $("#calib-camera").value);
  $("#calib-load-ref").hidden = !(camera && camera.has_snapshot);
  if (camera) {
    if (camera.desk.width_cm) $("#calib-width").value = camera.desk.width_cm;
    if (camera.desk.depth_cm) $("#calib-depth").value = camera.desk.depth_cm;
  }
}

async function loadReferenceSnapshot() {
  const cameraId = $("#calib-camera").value;
  try {
    const blob = await (await api(`cameras/${encodeURIComponent(cameraId)}/snapshot`)).blob();
    const file = new File([blob], `${cameraId}-reference${blob.type === "image/png" ? ".png" : ".jpg"}`, { type: blob.type });
    if (state.objectUrls.calib) URL.revokeObjectURL(state.objectUrls.calib);
    state.objectUrls.calib = URL.createObjectURL(blob);
    setCalibImage(state.objectUrls.calib, file);
    const camera = state.cameras.find((c) => c.camera_id === cameraId);
    // start from the camera's current corners: the admin adjusts by starting over
    if (camera && camera.points.length === 4) {
      const waitForImage = () => {
        if (!state.calib.image) return setTimeout(waitForImage, 30);
        state.calib.points = camera.points.map((p) => p.image_px);
        drawCalibration();
      };
      waitForImage();
    }
  } catch (error) { notify(error.message); }
}

async function saveCalibration(event) {
  event.preventDefault();
  const form = new FormData();
  form.append("camera_id", $("#calib-camera").value.trim());
  form.append("snapshot", state.calib.file, state.calib.file.name);
  form.append("corners_px", JSON.stringify(state.calib.points));
  form.append("width_cm", $("#calib-width").value);
  form.append("depth_cm", $("#calib-depth").value);
  $("#calib-save").disabled = true;
  try {
    const result = await apiJson("calibration", { method: "POST", body: form });
    const fit = result.fit;
    const box = $("#calib-result");
    box.hidden = false;
    box.replaceChildren(
      el("p", { class: "ok", text: t("calib_saved", { file: result.file }) }),
      el("p", { class: "big", text: `${t("reprojection")}: ${Number(fit.reprojection_error_px).toFixed(3)} px (${t("max")} ${Number(fit.max_error_px).toFixed(3)} px)` }),
      el("p", { text: `${t("position_error")}: ${t("median")} ${fmt(fit.position_error_cm.median, 2)} cm, ${t("max")} ${fmt(fit.position_error_cm.max, 2)} cm` }),
      fit.inliers === 4 ? el("p", { class: "hint", text: t("four_points_note") }) : null,
      el("pre", { text: (result.corners_read ? result.corners_read + "\n" : "") + result.description }));
    notify("");
    await loadCameras();
    document.dispatchEvent(new CustomEvent("calibration-saved", { detail: result }));  // setup.js: the zones next
  } catch (error) {
    notify(error.message);
  } finally {
    renderCalibInstruction();
  }
}

// ---------------------------------------------------------------- wiring
function wire() {
  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => showView(tab.dataset.view)));
  $("#lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG_STORAGE, state.lang);
    applyLanguage();
  });
  $("#key-button").addEventListener("click", () => {
    const panel = $("#key-panel");
    if (panel.hidden) showKeyPanel(); else panel.hidden = true;
  });
  $("#key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    state.key = $("#key-input").value.trim();
    localStorage.setItem(KEY_STORAGE, state.key);
    $("#key-panel").hidden = true;
    notify("");
    try { await loadCameras(); notify(t("key_saved"), "ok"); } catch (error) { notify(error.message); }
  });

  const drop = $("#drop-zone");
  drop.addEventListener("click", (event) => { if (event.target !== $("#photo-input")) $("#photo-input").click(); });
  drop.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") $("#photo-input").click(); });
  ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (event) => {
    event.preventDefault(); drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) setPhoto(file);
  });
  $("#photo-input").addEventListener("change", () => setPhoto($("#photo-input").files[0]));
  $("#inspect-form").addEventListener("submit", submitInspection);

  $("#history-refresh").addEventListener("click", () => loadHistory(true));
  $("#history-camera").addEventListener("change", () => loadHistory(true));
  $("#history-compliant").addEventListener("change", () => loadHistory(true));
  $("#history-more").addEventListener("click", () => loadHistory(false));

  $("#calib-camera").addEventListener("input", onCalibCamera);
  $("#calib-load-ref").addEventListener("click", loadReferenceSnapshot);
  $("#calib-snapshot").addEventListener("change", () => {
    const file = $("#calib-snapshot").files[0];
    if (!file) return;
    if (state.objectUrls.calib) URL.revokeObjectURL(state.objectUrls.calib);
    state.objectUrls.calib = URL.createObjectURL(file);
    setCalibImage(state.objectUrls.calib, file);
  });
  $("#calib-canvas").addEventListener("pointerdown", (event) => {
    if (!state.calib.image || state.calib.points.length >= 4) return;
    event.preventDefault();
    state.calib.points.push(canvasPoint(event));
    drawCalibration();
  });
  $("#calib-undo").addEventListener("click", () => { state.calib.points.pop(); drawCalibration(); });
  $("#calib-reset").addEventListener("click", () => { state.calib.points = []; drawCalibration(); });
  $("#calib-form").addEventListener("submit", saveCalibration);
}

async function start() {
  Auth.init();  // auth.js: the sign-in form, the admin panel and their texts
  wire();
  applyLanguage();
  await loadReady();
  if (!(await Auth.start())) return;  // auth.js: signed in, or an API key kept in this browser
  try { await loadCameras(); } catch (error) { notify(error.message); }
}

start();
