// short-imports.mjs: gives the wasm's imports from its JS glue short names ($0, $1, …), in the .wasm and the glue alike.
// wasm-bindgen names each import after the JS it calls plus a 16-hex-digit hash (`__wbg_get_2080c49015e35254`): 173
// such names, written once in the .wasm and once or twice in the glue, were ~5 kB of the gzipped package, and
// neither wasm-opt nor terser may rename them (they are the link between the two files). Emscripten does the same
// (binaryen's --minify-imports); this does it for wasm-bindgen's output.
// Usage: node scripts/short-imports.mjs <dir> <glue.js>   (run by scripts/build.sh after each wasm-pack build)
// The names are given in the order the imports appear, so the bundler and web builds of one .wasm stay identical.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [dir, glueName] = process.argv.slice(2);
if (!dir || !glueName) {
  console.error("usage: node scripts/short-imports.mjs <dir> <glue.js>");
  process.exit(2);
}
const wasmFile = path.join(dir, "offline_tables_bg.wasm");
const glueFile = path.join(dir, glueName);
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
const parts = [wasm.subarray(0, 8)];
for (let p = 8; p < wasm.length; ) {
  const id = wasm[p];
  const [size, n] = leb(p + 1);
  const body = p + 1 + n;
  const end = body + size;
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

// The glue: every whole-identifier occurrence of an old name becomes the new one. Each old name must be there (or the
// import would not resolve), and no new name may be there already.
let glue = readFileSync(glueFile, "utf8");
const token = (s) => new RegExp(`(?<![\\w$])${s.replace(/\$/g, "\\$")}(?![\\w$])`, "g");
for (const [from, to] of renames) {
  if (token(to).test(glue)) fail(`${glueName} already uses the name ${to}`);
  const n = glue.match(token(from))?.length ?? 0;
  if (n === 0) fail(`${glueName} never names the import ${from}`);
  glue = glue.replace(token(from), () => to);
}
writeFileSync(wasmFile, Buffer.concat(parts));
writeFileSync(glueFile, glue);
console.log(`short-imports: ${renames.size} imports of ${dir} renamed`);
