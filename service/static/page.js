// Page-wide behaviour (issue 19, item 8): every tab has its own address (/#history, /#calibrate, …)
// so it can be bookmarked, linked and reached with back / forward; and tables reflow into labelled
// rows on a phone instead of scrolling sideways. Loaded after app.js: uses its $() and showView().
"use strict";

function views() {
  return [...document.querySelectorAll(".tab")].map((tab) => tab.dataset.view);
}

function shownView() {
  const active = document.querySelector(".tab.active");
  return active ? active.dataset.view : null;
}

function viewFromHash() {
  const name = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  return views().includes(name) ? name : null;
}

// the address follows the tab shown (a new history entry per tab change: back returns to the last tab)
document.addEventListener("view-shown", (event) => {
  const name = event.detail;
  if (viewFromHash() === name || (!location.hash && name === "inspect")) return;
  history.pushState({ view: name }, "", `#${name}`);
});

// and the tab follows the address: a link, a bookmark, back or forward
function followHash() {
  const name = viewFromHash() || "inspect";
  if (name !== shownView()) showView(name);
}
window.addEventListener("popstate", followHash);
window.addEventListener("hashchange", followHash);
if (viewFromHash()) followHash();

// ---------------------------------------------------------------- tables on a phone
// Each cell carries its column's header as data-label; setup.css shows it before the value when the
// screen is narrow and the rows become cards.
function labelCells(table) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  table.querySelectorAll("tbody tr").forEach((row) => {
    [...row.children].forEach((cell, i) => {
      if (heads[i] !== undefined && cell.dataset.label !== heads[i]) cell.dataset.label = heads[i];
    });
  });
}

document.querySelectorAll("table").forEach((table) => {
  table.classList.add("reflow");
  labelCells(table);
  new MutationObserver(() => labelCells(table)).observe(table, { childList: true, subtree: true, characterData: true });
});

// ---------------------------------------------------------------- the CJK font
// When the bundled CJK font arrives (style.css), text already laid out in the fallback is laid out
// again: Chromium otherwise keeps boxes for some of it.
if (document.fonts) {
  document.fonts.addEventListener("loadingdone", () => {
    document.documentElement.classList.toggle("fonts-again");
  });
}
