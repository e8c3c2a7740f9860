// sw.js: the demo's Service Worker: keeps the app shell (page, bundle, wasm, CSS, manifest, icons) in a versioned cache so the app starts with the network off. API requests (/api/, /sync/) are not touched: they go to the network (or, later, to the store's fetch interceptor in the page).

// The build (webpack.config.js) rewrites this line with the shell's files and a hash of their contents,
// so every new build gets a new cache and the old one is dropped on activate.
const SHELL = { version: "dev", files: ["./", "index.html", "main.js", "style.css", "manifest.webmanifest"] };
const CACHE = `field-service-shell-${SHELL.version}`;
const PREFIX = "field-service-shell-";

self.addEventListener("install", (event) => {
  // `reload`: fetch past the HTTP cache, so the new cache never gets a stale file.
  event.waitUntil(caches.open(CACHE)
    .then((cache) => cache.addAll(SHELL.files.map((f) => new Request(f, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

const scope = new URL(self.registration.scope);
const SHELL_URLS = new Set(SHELL.files.map((f) => new URL(f, scope).href));

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== scope.origin) return;
  // Opening the app (its views live in the hash) gets the shell's page, whatever the query string.
  const page = request.mode === "navigate" && [scope.pathname, `${scope.pathname}index.html`].includes(url.pathname);
  url.search = "";
  url.hash = "";
  if (!page && !SHELL_URLS.has(url.href)) return; // not ours: the network
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(page ? new URL("./", scope).href : url.href);
    return hit ?? fetch(request);
  })());
});
