// dom.js: a tiny element builder and formatting helpers shared by the demo's views.

/**
 * `h("li.item", { onclick }, "text", child)`: an element with classes, attributes or
 * properties (`on…` are listeners, `dataset` an object, `false`/`null` skipped), children.
 */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v == null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && k !== "list" && k !== "form") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c);
  return el;
}

/** "3 days ago", "today", "in 2 days" for an ISO date-time. */
export function relativeDay(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const days = Math.round((startOfDay(t) - startOfDay(Date.now())) / 86_400_000);
  if (days === 0) return "today";
  if (days === -1) return "yesterday";
  if (days === 1) return "tomorrow";
  return days < 0 ? `${-days} days ago` : `in ${days} days`;
}

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

export const STATUSES = ["new", "scheduled", "in-progress", "done"];

/** A status chip: `<span class="chip s-done">done</span>`. */
export const statusChip = (status) => h(`span.chip.s-${status ?? "none"}`, {}, status ?? "—");

/** Runs after `ms` without another call: list refreshes after bursts of change events. */
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
