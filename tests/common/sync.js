// sync.js: promise helpers for the browser tests' sync checks (tests/common/sync.rs).

// `p`, or "hung" if it does not settle within `ms`.
export function orHung(p, ms) {
  let timer;
  const t = new Promise((r) => { timer = setTimeout(() => r("hung"), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
