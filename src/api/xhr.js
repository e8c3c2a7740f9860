// xhr.js: the XMLHttpRequest half of store.interceptRequests: XHR requests that the fetch half would answer get the
// same Response (status, headers, body; XHR builds its events, readyState and responseType from it), the others go to
// the network untouched. On @mswjs/interceptors' XMLHttpRequestInterceptor (MIT), which patches XMLHttpRequest and
// turns each request into a fetch Request. scripts/bundle-js.mjs bundles this file with it into xhr.bundle.js, the
// module the wasm loads (wasm-bindgen copies one file per module, so it cannot follow this file's import).
import { XMLHttpRequestInterceptor } from "@mswjs/interceptors/XMLHttpRequest";

// The library patches XMLHttpRequest once per page: one interceptor serves every installer (several stores, or one
// installed twice), asking the most recent first, as stacked fetch wrappers do.
const handlers = [];
let interceptor = null;

async function onRequest({ request, controller }) {
  for (const h of [...handlers].reverse()) {
    if (!h.matches(request.method, request.url)) continue;
    const response = await h.answer(request.clone());
    if (response !== undefined && handlers.includes(h)) {
      controller.respondWith(response);
      return;
    }
  }
}

/**
 * Patches globalThis.XMLHttpRequest so that a request for which `matches(method, url)` holds is answered by
 * `answer(request)` (a Promise of a Response, or of undefined to let it go on: to an earlier installer, else the
 * network). Returns the uninstall function; XMLHttpRequest is restored when the last installer has uninstalled.
 * Without XMLHttpRequest (a Service Worker): installs nothing.
 */
export function installXhr(matches, answer) {
  if (typeof globalThis.XMLHttpRequest !== "function") return () => {};
  const h = { matches, answer };
  handlers.push(h);
  if (interceptor === null) {
    interceptor = new XMLHttpRequestInterceptor();
    interceptor.on("request", onRequest);
    interceptor.apply();
  }
  return function uninstall() {
    const i = handlers.indexOf(h);
    if (i < 0) return;
    handlers.splice(i, 1);
    if (handlers.length === 0) {
      interceptor.dispose();
      interceptor = null;
    }
  };
}
