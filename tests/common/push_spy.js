// push_spy.js: a passive observer of the page's pushes for the browser tests. Every POST to /sync/push goes to the
// real server unchanged; the spy keeps a copy of each body the page sent and of each answer it got (a dropped
// connection gives none), and can run a hook once, in a microtask right after the next push was sent. Installed on
// first use, once per page: the tests share one page.
function spy() {
  if (!globalThis.__otPushSpy) {
    const s = { sent: [], answers: [], hook: null };
    globalThis.__otPushSpy = s;
    const orig = globalThis.fetch;
    globalThis.fetch = function (input, init) {
      const url = typeof input === "string" ? input : input.url;
      if (!String(url).endsWith("/sync/push")) return orig.apply(this, arguments);
      const copy = input instanceof Request ? input.clone().text() : Promise.resolve(init && init.body);
      const p = orig.apply(this, arguments);
      copy.then((t) => s.sent.push(JSON.parse(t)));
      if (s.hook) {
        const h = s.hook;
        s.hook = null;
        queueMicrotask(h);
      }
      return p.then((r) => {
        r.clone().json().then((b) => s.answers.push(b), () => {});
        return r;
      });
    };
  }
  return globalThis.__otPushSpy;
}
export function spyReset() {
  const s = spy();
  s.sent = [];
  s.answers = [];
  s.hook = null;
}
export function spyOnNextPush(f) { spy().hook = f; }
export function spySent() { return JSON.stringify(spy().sent); }
export function spyAnswers() { return JSON.stringify(spy().answers); }
