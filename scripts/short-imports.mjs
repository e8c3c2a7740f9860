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
const renames = new Map();
const exportRenames = new Map();
const parts = [wasm.subarray(0, 8)];
for (let p = 8; p < wasm.length; ) {
  const id = wasm[p];
  const [size, n] = leb(p + 1);
  const body = p + 1 + n;
  const end = body + size;
  if (id === 7) {
    // The export section: (name, kind, index)*.
    let q = body;
    const [count, cn] = leb(q);
    q += cn;
    const out = [uleb(count)];
    for (let i = 0; i < count; i++) {
      const [fl, a] = leb(q);
      const field = wasm.subarray(q + a, q + a + fl).toString();
      q += a + fl;
      const descStart = q;
      q += 1 + leb(q + 1)[1]; // kind, index
      let short = field;
      // `memory` keeps its name; so do exports no file names (wasm-bindgen's `__abort_handler`, for one).
      if (field !== "memory" && named(field)) {
        if (!/^[A-Za-z_][\w]*$/.test(field)) fail(`export ${field} is not a plain identifier`);
        short = `$$${exportRenames.size.toString(36)}`;
        exportRenames.set(field, short);
      }
      out.push(name(short), wasm.subarray(descStart, q));
    }
    if (q !== end) fail("the export section did not parse to its end");
    const section = Buffer.concat(out);
    parts.push(Buffer.from([7]), uleb(section.length), section);
    p = end;
    continue;
  }
  if (id !== 2) {
    parts.push(wasm.subarray(p, end));
    p = end;
    continue;
  }
  // The import section: (module name, field name, kind, description)*.
  let q = body;
  const [count, cn] = leb(q);
  q += cn;
  const out = [uleb(count)];
  for (let i = 0; i < count; i++) {
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
      if (!/^[A-Za-z_][\w]*$/.test(field)) fail(`import ${field} is not a plain identifier`);
      short = `$${renames.size.toString(36)}`;
      renames.set(field, short);
    }
    out.push(name(module), name(short), wasm.subarray(descStart, q));
  }
  if (q !== end) fail("the import section did not parse to its end");
  const section = Buffer.concat(out);
  parts.push(Buffer.from([2]), uleb(section.length), section);
  p = end;
}
if (renames.size === 0) fail(`no imports from ${MODULE}: already shortened, or wasm-bindgen changed its layout`);
if (exportRenames.size === 0) fail("no exports to rename");

// The glue: every whole-identifier occurrence of an old name becomes the new one. Each old name must be there (or the
// import would not resolve), and no new name may be there already.
let glue = readFileSync(glueFile, "utf8");
for (const [from, to] of renames) {
  if (token(to).test(glue)) fail(`${glueName} already uses the name ${to}`);
  const n = glue.match(token(from))?.length ?? 0;
  if (n === 0) fail(`${glueName} never names the import ${from}`);
  glue = glue.replace(token(from), () => to);
}
writeFileSync(wasmFile, Buffer.concat(parts));
writeFileSync(glueFile, glue);

// The exports, in every file that names them (the glue is read again: its imports were renamed above). No new
// name may be there already.
texts.set(glueFile, glue);
for (const [from, to] of exportRenames) {
  let seen = 0;
  for (const [f, text] of texts) {
    if (token(to).test(text)) fail(`${path.basename(f)} already uses the name ${to}`);
    seen += text.match(token(from))?.length ?? 0;
    texts.set(f, text.replace(token(from), () => to));
  }
  if (seen === 0) fail(`no file of ${dir} names the export ${from}`);
}
for (const [f, text] of texts) writeFileSync(f, text);
console.log(`short-imports: ${renames.size} imports and ${exportRenames.size} exports of ${dir} renamed`);
