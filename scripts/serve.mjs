// serve.mjs: tiny static file server (no dependencies) for the demo (www/dist) and the benchmark.
// CLI: node scripts/serve.mjs DIR [PORT]   (PORT also from env PORT, default 8080; HOST default 127.0.0.1)
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webmanifest": "application/manifest+json",
  ".ts": "text/plain; charset=utf-8",
};

/** mounts: { "/": "/abs/dir", "/pkg-web/": "/abs/other" }; the longest matching prefix wins. */
export function createStaticServer(mounts) {
  const entries = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith("/") ? prefix : prefix + "/", path.resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);

  return createServer(async (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405).end();
        return;
      }
      let urlPath = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (urlPath.endsWith("/")) urlPath += "index.html";
      const mount = entries.find(([prefix]) => urlPath.startsWith(prefix));
      if (!mount) {
        res.writeHead(404).end("not found");
        return;
      }
      const [prefix, dir] = mount;
      const file = path.resolve(dir, "." + path.posix.normalize("/" + urlPath.slice(prefix.length)));
      if (file !== dir && !file.startsWith(dir + path.sep)) {
        res.writeHead(403).end("forbidden");
        return;
      }
      const info = await stat(file).catch(() => null);
      if (!info || !info.isFile()) {
        res.writeHead(404).end("not found");
        return;
      }
      res.writeHead(200, {
        "Content-Type": TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
        "Content-Length": info.size,
        "Cache-Control": "no-store",
      });
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
}

/** Starts listening; resolves to the bound port (pass 0 for any free port). */
export function listen(server, port, host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server.address().port));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node scripts/serve.mjs DIR [PORT]");
    process.exit(2);
  }
  const port = Number(process.argv[3] ?? process.env.PORT ?? 8080);
  const host = process.env.HOST ?? "127.0.0.1";
  const server = createStaticServer({ "/": dir });
  listen(server, port, host).then(
    (p) => console.log(`serving ${path.resolve(dir)} at http://localhost:${p}/  (Ctrl-C to stop)`),
    (err) => {
      console.error(`serve: cannot listen on ${host}:${port}: ${err.message}`);
      process.exit(1);
    },
  );
}
