// typings.mjs: puts the typed class declarations of src/api/types.d.ts (`OfflineStore<Schema>`, `Table<R>`, …) in
// the place of wasm-bindgen's untyped ones in a generated .d.ts. wasm-bindgen cannot declare a generic class, and a
// class cannot merge with an interface of other type parameters, so types.d.ts declares the whole classes and this
// removes the generated duplicates. It first checks that the typed class names every member the generated one has
// (a method added in Rust and not typed fails the build); members typed but not exported by the wasm are listed.
// Usage: node scripts/typings.mjs pkg/offline_tables.d.ts [pkg-web/offline_tables.d.ts …]   (scripts/build.sh runs it)
// Idempotent: a file already done has no untyped duplicate left, and is left as it is.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The class declarations of `text`: name, whether generic, the text span (with its doc comment) and member names. */
export function classes(text) {
  const out = [];
  const header = /^export class (\w+)(<)?[^\n]*\{$/gm;
  for (let m; (m = header.exec(text));) {
    const bodyStart = m.index + m[0].length;
    const end = closingBrace(text, bodyStart);
    if (end < 0) throw new Error(`class ${m[1]}: no closing brace`);
    // The doc comment right above the header belongs to the declaration.
    const before = text.slice(0, m.index);
    const doc = /\/\*\*(?:(?!\*\/)[\s\S])*\*\/\n$/.exec(before);
    const start = doc ? m.index - doc[0].length : m.index;
    out.push({ name: m[1], generic: Boolean(m[2]), start, end: end + 1, members: members(text.slice(bodyStart, end)) });
  }
  return out;
}

/** The index of the `}` closing the block whose body starts at `from` (comments and strings skipped). */
function closingBrace(text, from) {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "/" && text[i + 1] === "*") i = text.indexOf("*/", i + 2) + 1;
    else if (c === "/" && text[i + 1] === "/") i = text.indexOf("\n", i);
    else if (c === '"' || c === "'" || c === "`") i = text.indexOf(c, i + 1);
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
    if (i < 0) return -1;
  }
  return -1;
}

/** Member names of a class body: each declaration at its top level (`static open`, `readonly name`, `[Symbol.dispose]`). */
function members(body) {
  const code = body.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
  const names = new Set();
  let depth = 0;
  for (const line of code.split("\n")) {
    const m = /^\s*(?:(?:static|readonly|private|protected|public|get|set)\s+)*(\[[\w.]+\]|\w+)\s*[(<:?]/.exec(line);
    if (depth === 0 && m) names.add((/^\s*static\s/.test(line) ? "static " : "") + m[1]);
    for (const c of line) {
      if ("({[".includes(c)) depth++;
      else if (")}]".includes(c)) depth--;
    }
  }
  return names;
}

/** `text` with each untyped class that has a typed declaration removed; throws when a typed one misses a member. */
export function applyTypings(text, file = "the .d.ts") {
  const all = classes(text);
  const typed = new Map(all.filter((c) => c.generic).map((c) => [c.name, c]));
  const notes = [];
  const cut = [];
  for (const generated of all.filter((c) => !c.generic && typed.has(c.name))) {
    const mine = typed.get(generated.name);
    const missing = [...generated.members].filter((n) => !mine.members.has(n));
    if (missing.length) {
      throw new Error(`${file}: ${generated.name} exports ${missing.join(", ")}, which src/api/types.d.ts does not type: add them to its class ${generated.name}`);
    }
    const extra = [...mine.members].filter((n) => !generated.members.has(n));
    if (extra.length) notes.push(`${generated.name}: typed but not in the wasm: ${extra.join(", ")}`);
    cut.push(generated);
    typed.delete(generated.name);
  }
  // Left: classes typed here with no generated declaration (already replaced, or not exported by this wasm).
  for (const name of typed.keys()) notes.push(`${name}: no untyped declaration to replace`);
  let out = text;
  for (const c of cut.sort((a, b) => b.start - a.start)) out = out.slice(0, c.start) + out.slice(c.end).replace(/^\n+/, "\n");
  return { text: out, notes, replaced: cut.map((c) => c.name) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (!files.length) {
    console.error("usage: node scripts/typings.mjs FILE.d.ts …");
    process.exit(2);
  }
  for (const file of files) {
    try {
      const { text, notes, replaced } = applyTypings(readFileSync(file, "utf8"), file);
      writeFileSync(file, text);
      const what = replaced.length ? `typed ${replaced.join(", ")}` : "nothing to replace";
      console.log(`typings: ${path.relative(process.cwd(), file)}: ${what}${notes.map((n) => `\n  note: ${n}`).join("")}`);
    } catch (e) {
      console.error(`typings: ${e.message}`);
      process.exit(1);
    }
  }
}
