// xhr.js: the XMLHttpRequest half of store.interceptRequests: XHR requests that the fetch half would answer get the
// same Response (status, headers, body; XHR builds its events, readyState and responseType from it), the others go to
// the network untouched. On @mswjs/interceptors' XMLHttpRequestInterceptor (MIT), which patches XMLHttpRequest and
// turns each request into a fetch Request. scripts/bundle-js.mjs bundles this file with it into xhr.bundle.js, the
// module the wasm loads (wasm-bindgen copies one file per module, so it cannot follow this file's import).
import { XMLHttpRequestInterceptor } from "@mswjs/interceptors/XMLHttpRequest";

/**
 * Patches globalThis.XMLHttpRequest so that a request for which `matches(method, url)` holds is answered by
 * `answer(request)` (a Promise of a Response, or of undefined to let it go to the network). Returns the uninstall
 * function, which restores XMLHttpRequest once every installer has uninstalled. Without XMLHttpRequest (a worker):
 * installs nothing.
 */
export function installXhr(matches, answer) {
  if (typeof globalThis.XMLHttpRequest !== "function") return () => {};
  const interceptor = new XMLHttpRequestInterceptor();
  let active = true;
  interceptor.on("request", async ({ request, controller }) => {
    if (!active || !matches(request.method, request.url)) return;
    const response = await answer(request);
    if (response !== undefined && active) controller.respondWith(response);
  });
  interceptor.apply();
  return function uninstall() {
    if (!active) return;
    active = false;
    interceptor.dispose();
  };
}
