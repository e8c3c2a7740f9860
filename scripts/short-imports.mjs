// short-imports.mjs: gives the wasm's imports from its JS glue short names ($0, $1, …) and its exports too ($$0, $$1, …;
// `memory` keeps its name), in the .wasm, the glue and the .wasm's declarations alike.
// wasm-bindgen names each import after the JS it calls plus a 16-hex-digit hash (`__wbg_get_2080c49015e35254`): 173
// such names, written once in the .wasm and once or twice in the glue, were ~5 kB of the gzipped package, and
// neither wasm-opt nor terser may rename them (they are the link between the two files). Its exports are the API's
// methods (`offlinestore_pendingCount`) and closure shims named after their Rust types (~150 characters each).
// Emscripten does the same (binaryen's --minify-imports-and-exports); this does it for wasm-bindgen's output.
// Usage: node scripts/short-imports.mjs <dir> <glue.js>   (run by scripts/build.sh after each wasm-pack build)
// The names are given in the order they appear, so the bundler and web builds of one .wasm stay identical. Every
// glue file of the build is rewritten: the bundler build's entry (offline_tables.js) names exports too.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [dir, glueName] = process.argv.slice(2);
if (!dir || !glueName) {
  console.error("usage: node scripts/short-imports.mjs <dir> <glue.js>");
  process.exit(2);
}
const wasmFile = path.join(dir, "offline_tables_bg.wasm");
const glueFile = path.join(dir, glueName);
// Files that name the exports: the glue, the bundler build's entry, the .wasm's TypeScript declarations.
const exportFiles = [...new Set([glueName, "offline_tables.js", "offline_tables_bg.wasm.d.ts"])].map((f) => path.join(dir, f));
const texts = new Map(exportFiles.filter((f) => existsSync(f)).map((f) => [f, readFileSync(f, "utf8")]));
const token = (s) => new RegExp(`(?<![\\w$])${s.replace(/\$/g, "\\$")}(?![\\w$])`, "g");
const named = (field) => [...texts.values()].some((t) => token(field).test(t));
const MODULE = "./offline_tables_bg.js";
const fail = (msg) => {
  console.error(`short-imports: ${msg}`);
  process.exit(1);
};

const wasm = readFileSync(wasmFile);
const leb = (p) => {
  let value = 0, shift = 0, n = 0, byte;
  do {
    byte = wasm[p + n++];
    value |= (byte & 127) << shift;
    shift += 7;
  } while (byte & 128);
  return [value >>> 0, n];
};
const uleb = (v) => {
  const out = [];
  do {
    let b = v & 127;
    v >>>= 7;
    if (v) b |= 128;
    out.push(b);
  } while (v);
  return Buffer.from(out);
};
const name = (s) => {
  const b = Buffer.from(s);
  return Buffer.concat([uleb(b.length), b]);
};

if (wasm.readUInt32LE(0) !== 0x6d736100) fail(`${wasmFile} is not a wasm module`);

// A vector section (count, then entries) rebuilt entry by entry: `entry(q)` reads the entry at q and returns its new
// bytes and where the next one starts.
const vector = (body, end, what, entry) => {
  let q = body;
  const [count, cn] = leb(q);
  q += cn;
  const out = [uleb(count)];
  for (let i = 0; i < count; i++) {
    const [bytes, next] = entry(q);
    out.push(bytes);
    q = next;
  }
  if (q !== end) fail(`the ${what} section did not parse to its end`);
  return Buffer.concat(out);
};
const plain = (field, what) => {
  if (!/^[A-Za-z_][\w]*$/.test(field)) fail(`${what} ${field} is not a plain identifier`);
};

const renames = new Map();
const exportRenames = new Map();
// The import section: (module name, field name, kind, description)*.
const importEntry = (q) => {
  const [ml, a] = leb(q);
  const module = wasm.subarray(q + a, q + a + ml).toString();
  q += a + ml;
  const [fl, b] = leb(q);
  const field = wasm.subarray(q + b, q + b + fl).toString();
  q += b + fl;
  const descStart = q;
  const kind = wasm[q++];
  const limits = () => {
    const flags = wasm[q++];
    q += leb(q)[1];
    if (flags & 1) q += leb(q)[1];
  };
  if (kind === 0) q += leb(q)[1]; // function: type index
  else if (kind === 1) { q++; limits(); } // table: element type, limits
  else if (kind === 2) limits(); // memory
  else if (kind === 3) q += 2; // global: value type, mutability
  else fail(`import ${module}.${field} has an unknown kind ${kind}`);
  let short = field;
  if (module === MODULE) {
    plain(field, "import");
    short = `$${renames.size.toString(36)}`;
    renames.set(field, short);
  }
  return [Buffer.concat([name(module), name(short), wasm.subarray(descStart, q)]), q];
};
// The export section: (name, kind, index)*. `memory` keeps its name; so do exports no file names (wasm-bindgen's
// `__abort_handler`, for one).
const exportEntry = (q) => {
  const [fl, a] = leb(q);
  const field = wasm.subarray(q + a, q + a + fl).toString();
  q += a + fl;
  const descStart = q;
  q += 1 + leb(q + 1)[1]; // kind, index
  let short = field;
  if (field !== "memory" && named(field)) {
    plain(field, "export");
    short = `$$${exportRenames.size.toString(36)}`;
    exportRenames.set(field, short);
  }
  return [Buffer.concat([name(short), wasm.subarray(descStart, q)]), q];
};

const parts = [wasm.subarray(0, 8)];
for (let p = 8; p < wasm.length; ) {
  const id = wasm[p];
  const [size, n] = leb(p + 1);
  const body = p + 1 + n;
  const end = body + size;
  if (id === 2 || id === 7) {
    const section = id === 2 ? vector(body, end, "import", importEntry) : vector(body, end, "export", exportEntry);
    parts.push(Buffer.from([id]), uleb(section.length), section);
  } else {
    parts.push(wasm.subarray(p, end));
  }
  p = end;
}
if (renames.size === 0) fail(`no imports from ${MODULE}: already shortened, or wasm-bindgen changed its layout`);
if (exportRenames.size === 0) fail("no exports to rename");

// Every whole-identifier occurrence of an old name in `files` becomes the new one. Each old name must be there (or it
// would not resolve), and no new name may be there already. Imports are named by the glue only; exports by the glue,
// the bundler build's entry and the declarations.
const rename = (files, pairs, what) => {
  for (const [from, to] of pairs) {
    let seen = 0;
    for (const f of files) {
      const text = texts.get(f);
      if (token(to).test(text)) fail(`${path.basename(f)} already uses the name ${to}`);
      seen += text.match(token(from))?.length ?? 0;
      texts.set(f, text.replace(token(from), () => to));
    }
    if (seen === 0) fail(`no file of ${dir} names the ${what} ${from}`);
  }
};
rename([glueFile], renames, "import");
rename([...texts.keys()], exportRenames, "export");
// Written only once every check has passed: a failed run leaves the build as wasm-pack made it.
writeFileSync(wasmFile, Buffer.concat(parts));
for (const [f, text] of texts) writeFileSync(f, text);
console.log(`short-imports: ${renames.size} imports and ${exportRenames.size} exports of ${dir} renamed`);
