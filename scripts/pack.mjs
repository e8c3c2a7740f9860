// pack.mjs (npm run pack): assembles the published npm package from the wasm-pack outputs into target/npm/package/,
// then `npm pack`s it to target/npm/offline-tables-<version>.tgz: one .wasm, with the bundler glue (pkg/,
// `offline-tables`) and the web glue (pkg-web/, `offline-tables/web`) beside it.
// The root package.json is the development project (private); this one is what npm users get.
// Usage: node scripts/pack.mjs          (expects the two builds of `scripts/build.sh all`)
// Prints the tarball's path as its last line.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { minify } from "terser";
import { applyTypings } from "./typings.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "target", "npm");
const PKG = path.join(OUT, "package");
const BUNDLER = path.join(ROOT, "pkg");
const WEB = path.join(ROOT, "pkg-web");

function fail(msg) {
  console.error(`pack: ${msg}`);
  process.exit(1);
}
const read = (...p) => readFileSync(path.join(...p));
const sha = (buf) => createHash("sha256").update(buf).digest("hex");

for (const dir of [BUNDLER, WEB]) {
  if (!existsSync(path.join(dir, "offline_tables_bg.wasm"))) {
    fail(`${path.relative(ROOT, dir)}/ is missing: run scripts/build.sh all first`);
  }
}

// One version for the crate, the dev project and the package (semver; see CHANGELOG.md).
const cargoVersion = /^\[package\][^[]*?^version = "([^"]+)"/m.exec(read(ROOT, "Cargo.toml").toString())?.[1];
const devPackage = JSON.parse(read(ROOT, "package.json"));
const built = JSON.parse(read(BUNDLER, "package.json"));
if (!cargoVersion) fail("no [package] version in Cargo.toml");
if (devPackage.version !== cargoVersion || built.version !== cargoVersion) {
  fail(`versions disagree: Cargo.toml ${cargoVersion}, package.json ${devPackage.version}, pkg/ ${built.version} (rebuild?)`);
}
const changelog = read(ROOT, "CHANGELOG.md").toString();
if (!changelog.includes(`## ${cargoVersion}`)) fail(`CHANGELOG.md has no "## ${cargoVersion}" section`);

// The sync protocol version the client speaks (docs/protocol.md), from the core crate.
const protocolSrc = read(ROOT, "crates", "core", "src", "protocol", "mod.rs").toString();
const protocolVersion = Number(/pub const PROTOCOL_VERSION: u32 = (\d+);/.exec(protocolSrc)?.[1]);
if (!Number.isInteger(protocolVersion)) fail("PROTOCOL_VERSION not found in crates/core/src/protocol/mod.rs");

// Both targets come from one cargo build: the same .wasm and the same JS snippets. Ship them once, with the two glue
// files beside them (the web glue fetches `offline_tables_bg.wasm` next to itself).
const snippetFiles = (dir) => {
  const base = path.join(dir, "snippets");
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(base, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
};
if (sha(read(BUNDLER, "offline_tables_bg.wasm")) !== sha(read(WEB, "offline_tables_bg.wasm"))) {
  fail("pkg/ and pkg-web/ hold different .wasm files: build both in one run (scripts/build.sh all)");
}
const snippets = snippetFiles(BUNDLER);
if (JSON.stringify(snippets) !== JSON.stringify(snippetFiles(WEB))
  || snippets.some((f) => sha(read(BUNDLER, "snippets", f)) !== sha(read(WEB, "snippets", f)))) {
  fail("pkg/snippets and pkg-web/snippets differ: build both in one run");
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(PKG, { recursive: true });
const copy = (from, to) => cpSync(from, path.join(PKG, to), { recursive: true });
// Bundlers (webpack 5 with asyncWebAssembly, Vite with a wasm plugin, ...): `import … from "offline-tables"`.
for (const f of ["offline_tables.js", "offline_tables_bg.js", "offline_tables.d.ts", "offline_tables_bg.wasm", "offline_tables_bg.wasm.d.ts"]) {
  copy(path.join(BUNDLER, f), f);
}
if (existsSync(path.join(BUNDLER, "snippets"))) copy(path.join(BUNDLER, "snippets"), "snippets");
// Plain <script type="module"> pages and workers, no bundler: `import init, … from "offline-tables/web"`.
copy(path.join(WEB, "offline_tables.js"), "web.js");
copy(path.join(WEB, "offline_tables.d.ts"), "web.d.ts");
// React hooks, plain JS importing only "react" (a peer dependency): `import { useLiveQuery } from "offline-tables/react"`.
copy(path.join(ROOT, "react", "index.js"), path.join("react", "index.js"));
copy(path.join(ROOT, "react", "index.d.ts"), path.join("react", "index.d.ts"));
// The typed classes (scripts/typings.mjs; build.sh ran it already, so this only checks a stale pkg/ is not shipped).
for (const f of ["offline_tables.d.ts", "web.d.ts"]) {
  const file = path.join(PKG, f);
  try {
    writeFileSync(file, applyTypings(readFileSync(file, "utf8"), f).text);
  } catch (e) {
    fail(e.message);
  }
}
// The web glue's declarations are the bundler's and init()'s: web.d.ts re-exports the bundler's instead of declaring
// the classes and types again, so that both entries' types are one (a Keyed<…> or a store from either fits the other's
// and the React hooks').
{
  const shared = read(PKG, "offline_tables.d.ts").toString();
  const web = read(PKG, "web.d.ts").toString();
  if (!web.startsWith(shared)) fail("web.d.ts does not begin with offline_tables.d.ts: were pkg/ and pkg-web/ built in one run?");
  writeFileSync(path.join(PKG, "web.d.ts"), `/* offline-tables/web: the classes and types of offline-tables, and init() */\nexport * from "./offline_tables.js";\n${web.slice(shared.length)}`);
}
const shipped = ["offline_tables.js", "offline_tables_bg.js", "web.js", path.join("react", "index.js"),
  ...snippets.filter((f) => f.endsWith(".js")).map((f) => path.join("snippets", f))];
for (const f of ["README.md", "LICENSE", "CHANGELOG.md"]) copy(path.join(ROOT, f), f);

// The JS a page downloads ships minified (terser, as ES modules; export names, imports and class names kept):
// the wasm-bindgen glue and our snippets are 40% of their gzipped size minified, and the plain-ESM `web` build
// has no bundler to do it. Types (.d.ts) and the wasm are untouched.
for (const f of shipped) {
  const file = path.join(PKG, f);
  const result = await minify(readFileSync(file, "utf8"), {
    module: true,
    compress: { passes: 2 },
    mangle: true,
    keep_classnames: true,
    format: { comments: false },
  });
  if (!result.code) fail(`terser gave nothing for ${f}`);
  writeFileSync(file, result.code);
}

const files = [
  "offline_tables.js", "offline_tables_bg.js", "offline_tables.d.ts", "offline_tables_bg.wasm",
  "offline_tables_bg.wasm.d.ts", "web.js", "web.d.ts", "react/", "CHANGELOG.md",
];
if (existsSync(path.join(PKG, "snippets"))) files.push("snippets/");
const manifest = {
  name: "offline-tables",
  version: cargoVersion,
  description: devPackage.description,
  keywords: ["offline-first", "indexeddb", "sync", "pwa", "wasm", "webassembly", "rust", "local-first", "service-worker", "odata"],
  license: devPackage.license,
  repository: { type: "git", url: "git+https://github.com/offline-tables/offline-tables.git" },
  homepage: "https://github.com/offline-tables/offline-tables#readme",
  bugs: { url: "https://github.com/offline-tables/offline-tables/issues" },
  type: "module",
  main: "./offline_tables.js",
  module: "./offline_tables.js",
  types: "./offline_tables.d.ts",
  exports: {
    ".": { types: "./offline_tables.d.ts", default: "./offline_tables.js" },
    "./web": { types: "./web.d.ts", default: "./web.js" },
    "./react": { types: "./react/index.d.ts", default: "./react/index.js" },
    "./offline_tables_bg.wasm": "./offline_tables_bg.wasm",
    "./package.json": "./package.json",
  },
  files,
  // Only offline-tables/react imports it (useSyncExternalStore: React 18 or later); apps without React need none.
  peerDependencies: { react: ">=18" },
  peerDependenciesMeta: { react: { optional: true } },
  // The bundler entry instantiates the module when imported; the snippets are imported for their exports only,
  // but wasm-bindgen marks them, and they are tiny.
  sideEffects: ["./offline_tables.js", "./snippets/*"],
  // The sync protocol (docs/protocol.md) this client speaks: a server must serve the same version.
  offlineTables: { protocolVersion },
};
writeFileSync(path.join(PKG, "package.json"), JSON.stringify(manifest, null, 2) + "\n");

const out = execFileSync("npm", ["pack", "--json", "--pack-destination", OUT], { cwd: PKG, encoding: "utf8" });
const [info] = JSON.parse(out);
const tarball = path.join(OUT, info.filename);
console.log(`pack: ${info.entryCount} files, ${(info.size / 1000).toFixed(1)} kB packed, ${(info.unpackedSize / 1000).toFixed(1)} kB unpacked (protocol v${protocolVersion})`);
console.log(tarball);
