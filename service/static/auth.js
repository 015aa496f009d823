// Sign-in for people, keys for machines (issue 19, item 9): supervisors and administrators sign in
// with a user name and password (an HttpOnly session cookie the page never sees, plus a CSRF token
// sent with every change); administrators make and revoke the dashboards' API keys and add users.
// An API key pasted into the page still works, as before.
// Loaded BEFORE app.js, whose api() and start() call Auth; what runs here uses app.js's state, t(),
// el(), $(), notify(), apiJson() and loadCameras() only once app.js has loaded.
"use strict";

const AUTH_TEXT = {
  zh: {
    tab_admin: "管理", key_button: "登录", signout: "退出登录", forget_key: "忘记密钥",
    signin_title: "登录", signin_name: "用户名", signin_password: "密码", signin: "登录", signin_busy: "登录中…",
    signin_hint: "账号由管理员创建（本页“管理”，或命令 desk-inspector users add）。",
    signin_needed: "请先登录。", signin_again: "登录已结束，请重新登录。", signin_wrong: "用户名或密码错误。",
    key_label: "或者：使用 API 密钥（看板、脚本，X-API-Key）",
    signed_in_as: "{name} · {role}", via_key: "密钥 · {name}",
    role_supervisor: "主管", role_admin: "管理员",
    keys_title: "API 密钥（看板、脚本）",
    keys_hint: "看板和脚本在 X-API-Key 头中发送密钥。服务器只保存密钥的哈希：新密钥只显示一次，请立即复制；不再使用的密钥请吊销。",
    key_name: "用途，例如：大厅看板", key_create: "生成密钥",
    key_new_once: "新密钥只显示这一次：现在复制，配置到看板中。", copy: "复制", copied: "已复制。",
    key_created: "已生成密钥“{name}”。", revoke: "吊销", revoked: "密钥“{name}”已吊销。",
    revoke_confirm: "吊销密钥“{name}”？使用它的看板或脚本将立即无法访问。",
    col_name: "名称", col_role: "角色", col_starts: "开头", col_created: "创建", col_last_used: "最近使用",
    col_state: "状态", col_user: "用户", col_last_signin: "最近登录",
    state_active: "有效", state_revoked: "已吊销 {time}", state_disabled: "已停用", never: "从未", by: "{time} · {who}",
    users_title: "用户（主管、管理员）", user_name: "用户名", user_password: "初始密码（至少 8 位）", user_create: "添加用户",
    user_created: "已添加用户 {name}。", disable: "停用", enable: "启用", you: "（您）",
    no_keys: "还没有密钥。", no_users: "还没有用户。",
  },
  en: {
    tab_admin: "Admin", key_button: "Sign in", signout: "Sign out", forget_key: "Forget key",
    signin_title: "Sign in", signin_name: "User name", signin_password: "Password", signin: "Sign in", signin_busy: "Signing in…",
    signin_hint: "Accounts are made by an administrator (Admin tab, or desk-inspector users add).",
    signin_needed: "Sign in first.", signin_again: "Your session has ended: sign in again.",
    signin_wrong: "Wrong user name or password.",
    key_label: "Or: use an API key (dashboards, scripts; X-API-Key)",
    signed_in_as: "{name} · {role}", via_key: "key · {name}",
    role_supervisor: "Supervisor", role_admin: "Administrator",
    keys_title: "API keys (dashboards, scripts)",
    keys_hint: "Dashboards and scripts send their key in the X-API-Key header. The server keeps only a hash: a new key is shown once, copy it now; revoke keys no longer used.",
    key_name: "What uses it, e.g. hall dashboard", key_create: "Create key",
    key_new_once: "The new key is shown this once: copy it into the dashboard now.", copy: "Copy", copied: "Copied.",
    key_created: "Key “{name}” created.", revoke: "Revoke", revoked: "Key “{name}” revoked.",
    revoke_confirm: "Revoke the key “{name}”? Dashboards or scripts using it are refused at once.",
    col_name: "Name", col_role: "Role", col_starts: "Starts with", col_created: "Created", col_last_used: "Last used",
    col_state: "State", col_user: "User", col_last_signin: "Last sign-in",
    state_active: "active", state_revoked: "revoked {time}", state_disabled: "disabled", never: "never", by: "{time} · {who}",
    users_title: "Users (supervisors, administrators)", user_name: "User name", user_password: "First password (8+ characters)",
    user_create: "Add user", user_created: "User {name} added.", disable: "Disable", enable: "Enable", you: " (you)",
    no_keys: "No keys yet.", no_users: "No users yet.",
  },
};

const AUTH_SAFE_METHODS = ["GET", "HEAD", "OPTIONS"];

const Auth = {
  session: null,  // GET /api/v1/session: {signed_in, name, role, via, csrf_token}

  init() {
    Object.assign(TEXT.zh, AUTH_TEXT.zh);
    Object.assign(TEXT.en, AUTH_TEXT.en);
    $("#signin-form").addEventListener("submit", signIn);
    $("#signout-button").addEventListener("click", signOut);
    // app.js keeps the pasted key and loads the cameras; then ask who that key is (its role)
    $("#key-form").addEventListener("submit", () => setTimeout(() => { renderAuth(); refreshSession(); }, 0));
    $("#key-create-form").addEventListener("submit", createKey);
    $("#user-create-form").addEventListener("submit", createUser);
    $("#key-new-copy").addEventListener("click", copyNewKey);
    $("#lang-toggle").addEventListener("click", () => setTimeout(localizeAuth, 0));
    document.addEventListener("view-shown", (event) => {
      if (event.detail === "admin") loadAdmin();
      else hideNewKey();  // shown once: leaving the panel forgets it
    });
    localizeAuth();
  },

  // The headers that authenticate a request; null when there is nothing to send.
  headers(method) {
    if (state.key) return { "X-API-Key": state.key };
    if (Auth.session && Auth.session.via === "session") {
      const unsafe = !AUTH_SAFE_METHODS.includes((method || "GET").toUpperCase());
      return unsafe ? { "X-CSRF-Token": Auth.session.csrf_token } : {};
    }
    return null;
  },

  ask(message) { showSignIn(message || ""); },

  // A 401: the kept key was refused, or the session ended. The message to show.
  refused() {
    if (state.key) {
      showSignIn("");
      notify(t("key_bad"));
      return t("key_bad");
    }
    Auth.session = null;
    renderAuth();
    showSignIn(t("signin_again"));
    return t("signin_again");
  },

  // At page start: true when signed in or a key is kept (app.js then loads the cameras).
  async start() {
    await refreshSession();
    if (state.key || (Auth.session && Auth.session.signed_in)) return true;
    showSignIn("");
    return false;
  },
};

function localizeAuth() {
  $("#key-create-name").placeholder = t("key_name");
  $("#user-create-name").placeholder = t("user_name");
  $("#user-create-password").placeholder = t("user_password");
  renderAuth();
  if (!$("#view-admin").hidden && Auth.lastAdmin) renderAdmin(Auth.lastAdmin);
}

function showSignIn(message) {
  $("#key-panel").hidden = false;
  $("#key-input").value = state.key;
  const error = $("#signin-error");
  error.textContent = message;
  error.hidden = !message;
  $("#signin-name").focus();
}

async function refreshSession() {
  try {
    const response = await fetch(`${API}/session`, { headers: state.key ? { "X-API-Key": state.key } : {} });
    const body = response.ok ? await response.json() : null;
    Auth.session = body && body.signed_in ? body : null;
  } catch (_) {
    Auth.session = null;
  }
  renderAuth();
}

function roleName(role) { return t(role === "admin" ? "role_admin" : "role_supervisor"); }

function renderAuth() {
  const session = Auth.session;
  const who = $("#auth-user");
  if (session) {
    who.textContent = session.via === "session" ? t("signed_in_as", { name: session.name, role: roleName(session.role) })
      : t("via_key", { name: session.name });
    who.title = roleName(session.role);
  }
  who.hidden = !session;
  // nobody known yet: only the sign-in form, not an empty inspect form behind it
  document.body.classList.toggle("signed-out", !session && !state.key);
  $("#signout-button").hidden = !session && !state.key;
  $("#signout-button").textContent = session && session.via === "session" ? t("signout") : t("forget_key");
  // signed out the form is on screen anyway; with a key, it offers signing in as a person instead
  $("#key-button").hidden = !(state.key && !(session && session.via === "session"));
  const admin = Boolean(session && session.role === "admin");
  const tab = document.querySelector(".tab[data-view='admin']");
  tab.hidden = !admin;
  // signed in without the rights (a deep link to /#admin): back to the inspect tab
  if (!admin && (session || state.key) && !$("#view-admin").hidden) showView("inspect");
  // opened at /#admin before anyone was known: fill the panel now
  if (admin && !$("#view-admin").hidden && !Auth.lastAdmin) loadAdmin();
}

async function signIn(event) {
  event.preventDefault();
  const button = $("#signin-button");
  const error = $("#signin-error");
  button.disabled = true;
  button.textContent = t("signin_busy");
  error.hidden = true;
  try {
    const response = await fetch(`${API}/session`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: $("#signin-name").value, password: $("#signin-password").value }),
    });
    if (!response.ok) {
      let detail = t("signin_wrong");
      if (response.status !== 401) {
        try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
      }
      error.textContent = detail;
      error.hidden = false;
      $("#signin-password").select();
      return;
    }
    Auth.session = await response.json();
    // a person signed in: their session, not a key left in this browser, speaks for them
    state.key = "";
    localStorage.removeItem(KEY_STORAGE);
    $("#signin-password").value = "";
    $("#key-panel").hidden = true;
    renderAuth();
    notify("");
    try { await loadCameras(); } catch (err) { notify(err.message); }
    document.dispatchEvent(new CustomEvent("signed-in", { detail: Auth.session }));
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = t("signin");
  }
}

async function signOut() {
  if (Auth.session && Auth.session.via === "session") {
    try {
      await fetch(`${API}/session`, { method: "DELETE", headers: { "X-CSRF-Token": Auth.session.csrf_token } });
    } catch (_) { /* the page starts over anyway */ }
  }
  state.key = "";
  localStorage.removeItem(KEY_STORAGE);
  // start over: nothing of the last person's work stays on the screen
  location.replace(location.pathname);
}

// ---------------------------------------------------------------- administration
function authWhen(iso) {
  if (!iso) return t("never");
  return new Date(iso).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB",
    { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

async function loadAdmin() {
  if (!Auth.session || Auth.session.role !== "admin") return;
  try {
    const [keys, users] = await Promise.all([apiJson("keys"), apiJson("users")]);
    Auth.lastAdmin = { keys, users };
    renderAdmin(Auth.lastAdmin);
  } catch (error) {
    notify(error.message);
  }
}

function renderAdmin({ keys, users }) {
  const keyRows = $("#keys-table tbody");
  keyRows.replaceChildren(...keys.slice().reverse().map((key) => el("tr", { class: key.active ? "" : "revoked" },
    el("td", { text: key.name }),
    el("td", { text: roleName(key.role) }),
    el("td", {}, el("code", { text: `${key.prefix}…` })),
    el("td", { text: t("by", { time: authWhen(key.created_at), who: key.created_by }) }),
    el("td", { text: authWhen(key.last_used_at) }),
    el("td", { text: key.active ? t("state_active") : t("state_revoked", { time: authWhen(key.revoked_at) }) }),
    el("td", {}, key.active ? el("button", { type: "button", class: "ghost danger", text: t("revoke"),
                                             onclick: () => revokeKey(key) }) : null),
  )));
  if (!keys.length) keyRows.append(el("tr", {}, el("td", { colspan: "7", class: "hint", text: t("no_keys") })));

  const me = Auth.session ? Auth.session.name : "";
  const userRows = $("#users-table tbody");
  userRows.replaceChildren(...users.map((user) => el("tr", { class: user.disabled ? "revoked" : "" },
    el("td", { text: user.name + (user.name === me ? t("you") : "") }),
    el("td", { text: roleName(user.role) }),
    el("td", { text: user.disabled ? t("state_disabled") : t("state_active") }),
    el("td", { text: authWhen(user.last_login_at) }),
    el("td", {}, user.name === me ? null : el("button", {
      type: "button", class: user.disabled ? "ghost" : "ghost danger", text: t(user.disabled ? "enable" : "disable"),
      onclick: () => setDisabled(user, !user.disabled),
    })),
  )));
  if (!users.length) userRows.append(el("tr", {}, el("td", { colspan: "5", class: "hint", text: t("no_users") })));
}

function authJson(method, body) {
  return { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

async function createKey(event) {
  event.preventDefault();
  const name = $("#key-create-name").value.trim();
  try {
    const made = await apiJson("keys", authJson("POST", { name, role: $("#key-create-role").value }));
    $("#key-new-value").textContent = made.key;
    $("#key-new").hidden = false;
    $("#key-create-name").value = "";
    notify(t("key_created", { name: made.name }), "ok");
    await loadAdmin();
  } catch (error) {
    notify(error.message);
  }
}

function hideNewKey() {
  $("#key-new-value").textContent = "";
  $("#key-new").hidden = true;
}

async function copyNewKey() {
  const value = $("#key-new-value").textContent;
  try {
    await navigator.clipboard.writeText(value);
    notify(t("copied"), "ok");
  } catch (_) {
    // no clipboard (plain http on another host): select it for Ctrl+C
    const range = document.createRange();
    range.selectNodeContents($("#key-new-value"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }
}

async function revokeKey(key) {
  if (!confirm(t("revoke_confirm", { name: key.name }))) return;
  try {
    await api(`keys/${key.id}`, { method: "DELETE" });
    notify(t("revoked", { name: key.name }), "ok");
    await loadAdmin();
  } catch (error) {
    notify(error.message);
  }
}

async function createUser(event) {
  event.preventDefault();
  const body = { name: $("#user-create-name").value.trim(), password: $("#user-create-password").value,
                 role: $("#user-create-role").value };
  try {
    const made = await apiJson("users", authJson("POST", body));
    $("#user-create-name").value = "";
    $("#user-create-password").value = "";
    notify(t("user_created", { name: made.name }), "ok");
    await loadAdmin();
  } catch (error) {
    notify(error.message);
  }
}

async function setDisabled(user, disabled) {
  try {
    await apiJson(`users/${encodeURIComponent(user.name)}`, authJson("PATCH", { disabled }));
    await loadAdmin();
  } catch (error) {
    notify(error.message);
  }
}
