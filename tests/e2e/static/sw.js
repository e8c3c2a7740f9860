// sw.js: a minimal Service Worker for the e2e test page: it keeps the page and the pkg-web/ files it loads in a cache and answers them from there first, so the page reloads with the network off; every other request (the sync server's API included) goes to the network untouched.
const CACHE = "offline-tables-e2e-v1";
const SHELL = ["/", "/pkg-web/offline_tables.js", "/pkg-web/offline_tables_bg.wasm"];

// The page, and the package files it imports (snippets included), on this origin.
function isShell(url) {
  return url.origin === self.location.origin
    && (url.pathname === "/" || url.pathname === "/index.html" || url.pathname.startsWith("/pkg-web/"));
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  // Control the page that registered us without waiting for its next load.
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || !isShell(url)) return; // network, not cached
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // `/?sw=1` is the page at `/`: query strings do not make another copy.
    const hit = await cache.match(event.request, { ignoreSearch: true });
    if (hit) return hit;
    const response = await fetch(event.request);
    if (response.ok) await cache.put(event.request, response.clone());
    return response;
  })());
});
