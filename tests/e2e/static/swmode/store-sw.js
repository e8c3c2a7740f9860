// store-sw.js: Service Worker mode for the e2e tests: the worker itself runs an offline-tables store. It answers the page's
// REST requests under the server's /api/data/ from that store (handleFetch), shares the IndexedDB database with the pages
// (one of them syncs, by Web Lock), syncs on Background Sync's "sync" event, and answers the test's messages.
import init, { OfflineStore } from "/pkg-web/offline_tables.js";

const params = new URL(self.location.href).searchParams;
const SERVER = params.get("server"), TOKEN = params.get("token"), NAME = params.get("name");
const PREFIX = `${SERVER}/api/data/`;

// Module workers may not await at top level: the store opens on first use.
let opening = null;
const store = () => (opening ??= init().then(() =>
  OfflineStore.open({ name: NAME, server: { url: SERVER, token: TOKEN }, sync: { auto: false } })));

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  if (!event.request.url.startsWith(PREFIX)) return; // not ours: the network, untouched
  event.respondWith(store()
    .then((s) => s.handleFetch(event.request, { prefix: PREFIX }))
    .then((answer) => answer ?? fetch(event.request)));
});

self.addEventListener("sync", (event) => {
  event.waitUntil(store().then((s) => (event.tag === s.backgroundSyncTag ? s.sync() : undefined)));
});

// The test asks through a MessageChannel: { op: "sync" | "status" | "pending" }.
self.addEventListener("message", (event) => {
  const port = event.ports[0];
  const ops = {
    sync: (s) => s.sync(),
    status: (s) => s.status(),
    pending: (s) => s.pendingCount(),
  };
  event.waitUntil(store()
    .then((s) => ops[event.data.op](s))
    .then((value) => port.postMessage({ value }), (e) => port.postMessage({ error: `${e.code}: ${e.message}` })));
});
