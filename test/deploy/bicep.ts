/**
 * A small reader for the project's Bicep files — enough for static checks, not a compiler
 * (none is available in CI). It understands what the templates in bicep/ use: comments,
 * single-quoted strings with `\'` escapes and `${…}` interpolation, `param` / `var` /
 * `resource` / `module` / `output` declarations, loops (`[for x in xs: {…}]`), conditions
 * (`= if (…) {…}`), and object bodies whose properties are `key: value` lines.
 *
 * Every lookup is by structure (brace matching at depth 0 of a body), so a property nested
 * deeper, commented out or inside a string is not mistaken for the one asked about.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const BICEP_DIR = path.join(REPO_ROOT, "bicep");

/** Relative path (from the repository root, `/`-separated) → file text. */
export type Files = Map<string, string>;

/** Every file under bicep/ (templates, parameters, JSON they load), plus azure.yaml. */
export function readDeploymentFiles(): Files {
  const files: Files = new Map();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else files.set(path.relative(REPO_ROOT, full).split(path.sep).join("/"), readFileSync(full, "utf8"));
    }
  };
  walk(BICEP_DIR);
  files.set("azure.yaml", readFileSync(path.join(REPO_ROOT, "azure.yaml"), "utf8"));
  return files;
}

/** A copy of `files` with `search` replaced by `replacement` in `file`; throws if `search` is absent (a mutation that changes nothing proves nothing). */
export function mutate(files: Files, file: string, search: string | RegExp, replacement: string): Files {
  const text = files.get(file);
  if (text === undefined) throw new Error(`no file ${file}`);
  const changed = text.replace(search, replacement);
  if (changed === text) throw new Error(`mutation of ${file} did not apply: ${String(search)}`);
  return new Map(files).set(file, changed);
}

export function bicepFiles(files: Files): Array<[string, string]> {
  return [...files].filter(([name]) => name.endsWith(".bicep"));
}

/** The text with comments blanked out (strings kept), same length so offsets stay valid. */
export function stripComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'") {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") {
        out += " ";
        i++;
      }
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just past the string literal starting at `start` (a `'`). Multi-line `'''` strings too. */
function stringEnd(text: string, start: number): number {
  if (text.startsWith("'''", start)) {
    const end = text.indexOf("'''", start + 3);
    return end < 0 ? text.length : end + 3;
  }
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === "\\") i += 2;
    else if (text[i] === "'") return i + 1;
    else i++;
  }
  return text.length;
}

/** Index of the bracket closing the one at `open` (`{`, `[` or `(`), skipping strings. */
export function matchingBracket(text: string, open: number): number {
  const pairs: Record<string, string> = { "{": "}", "[": "]", "(": ")" };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      i = stringEnd(text, i) - 1;
      continue;
    }
    if (c in pairs) stack.push(pairs[c]);
    else if (c === "}" || c === "]" || c === ")") {
      if (stack.pop() !== c) throw new Error(`unbalanced '${c}' at ${i}`);
      if (stack.length === 0) return i;
    }
  }
  throw new Error(`no closing bracket for ${text[open]} at ${open}`);
}

export interface Declaration {
  kind: "resource" | "module";
  symbol: string;
  /** Resource type (`Microsoft.Storage/storageAccounts`) or module path. */
  type: string;
  apiVersion?: string;
  existing: boolean;
  /** `for x in xs` header when the declaration is a loop. */
  loop?: string;
  /** The `if (…)` condition, when conditional. */
  condition?: string;
  /** The object body, without its outer braces. */
  body: string;
  file: string;
}

const DECLARATION = /^(resource|module)\s+([A-Za-z_][A-Za-z0-9_]*)\s+'([^']+)'\s*(existing\s*)?=\s*/gm;

export function declarations(file: string, source: string): Declaration[] {
  const text = stripComments(source);
  const found: Declaration[] = [];
  for (const match of text.matchAll(DECLARATION)) {
    const [, kind, symbol, typeRef, existing] = match;
    let i = match.index + match[0].length;
    let loop: string | undefined;
    let condition: string | undefined;
    let wrappedInArray = false;
    if (text[i] === "[") {
      wrappedInArray = true;
      const header = /^\[\s*for\s+([^:]+):\s*/.exec(text.slice(i));
      if (!header) throw new Error(`${file}: cannot read the loop of ${symbol}`);
      loop = header[1].trim();
      i += header[0].length;
    }
    const conditionMatch = /^if\s*\(/.exec(text.slice(i));
    if (conditionMatch) {
      const open = i + conditionMatch[0].length - 1;
      const close = matchingBracket(text, open);
      condition = text.slice(open + 1, close).trim();
      i = close + 1;
      while (/\s/.test(text[i])) i++;
    }
    if (text[i] !== "{") throw new Error(`${file}: expected '{' for ${symbol}${wrappedInArray ? " (loop)" : ""}`);
    const close = matchingBracket(text, i);
    const [type, apiVersion] = kind === "resource" ? typeRef.split("@") : [typeRef, undefined];
    found.push({ kind: kind as "resource" | "module", symbol, type, apiVersion, existing: Boolean(existing), loop, condition, body: text.slice(i + 1, close), file });
  }
  return found;
}

export function allDeclarations(files: Files): Declaration[] {
  return bicepFiles(files).flatMap(([name, text]) => declarations(name, text));
}

/**
 * The value text of property `key` at the top level of an object body (`key: value`), or
 * undefined. Objects and arrays are returned with their brackets; a multi-line expression
 * (ternary, union(…)) is returned up to where the next property begins.
 */
export function property(body: string, key: string): string | undefined {
  const entries = topLevelEntries(body);
  return entries.get(key);
}

/** The inner text of an object-valued property (without braces), or undefined. */
export function objectProperty(body: string, key: string): string | undefined {
  const value = property(body, key);
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!trimmed.startsWith("{")) return undefined;
  return trimmed.slice(1, matchingBracket(trimmed, 0));
}

/** Follows a `a.b.c` path of object properties. */
export function propertyPath(body: string, dotted: string): string | undefined {
  const keys = dotted.split(".");
  let current: string | undefined = body;
  for (const key of keys.slice(0, -1)) {
    if (current === undefined) return undefined;
    current = objectProperty(current, key);
  }
  return current === undefined ? undefined : property(current, keys[keys.length - 1])?.trim();
}

/** Top-level `key: value` pairs of an object body. Keys may be identifiers or quoted strings. */
export function topLevelEntries(body: string): Map<string, string> {
  const entries = new Map<string, string>();
  const text = stripComments(body);
  let i = 0;
  let depth = 0;
  let current: { key: string; start: number } | undefined;
  const close = (end: number): void => {
    if (current) entries.set(current.key, text.slice(current.start, end).trim().replace(/,$/, "").trim());
    current = undefined;
  };
  let lineStart = true;
  while (i < text.length) {
    const c = text[i];
    if (depth === 0 && lineStart) {
      const keyMatch = /^[ \t,]*([A-Za-z_$][A-Za-z0-9_$]*|'[^']*')\s*:(?!:)/.exec(text.slice(i));
      if (keyMatch) {
        close(i);
        const key = keyMatch[1].startsWith("'") ? keyMatch[1].slice(1, -1) : keyMatch[1];
        current = { key, start: i + keyMatch[0].length };
        i += keyMatch[0].length;
        lineStart = false;
        continue;
      }
    }
    if (c === "'") {
      i = stringEnd(text, i);
      lineStart = false;
      continue;
    }
    if (c === "{" || c === "[" || c === "(") depth++;
    else if (c === "}" || c === "]" || c === ")") depth--;
    lineStart = c === "\n" || (c === "," && depth === 0) || (lineStart && /\s/.test(c));
    i++;
  }
  close(text.length);
  return entries;
}

/** `param name type = default` declarations: name → { type, default text }. */
export function params(source: string): Map<string, { type: string; defaultValue?: string }> {
  const found = new Map<string, { type: string; defaultValue?: string }>();
  for (const match of stripComments(source).matchAll(/^param\s+([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z]+)(?:\s*=\s*(.+))?$/gm)) {
    found.set(match[1], { type: match[2], defaultValue: match[3]?.trim() });
  }
  return found;
}

/** `var name = value` where the value is a single-line expression. */
export function vars(source: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of stripComments(source).matchAll(/^var\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/gm)) found.set(match[1], match[2].trim());
  return found;
}

/** `output name type = value` declarations. */
export function outputs(source: string): Array<{ name: string; type: string; value: string }> {
  return [...stripComments(source).matchAll(/^output\s+([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z]+)\s*=\s*(.+)$/gm)].map((m) => ({ name: m[1], type: m[2], value: m[3].trim() }));
}

/** Paths passed to loadJsonContent / loadTextContent / loadFileAsBase64, resolved to repository-relative paths. */
export function loadedFiles(file: string, source: string): string[] {
  const dir = path.posix.dirname(file);
  return [...stripComments(source).matchAll(/\bload(?:Json|Yaml|Text)Content\(\s*'([^']+)'/g)].map((m) => path.posix.normalize(path.posix.join(dir, m[1])));
}

/** A single-quoted Bicep string literal's value (no interpolation), else undefined. */
export function literal(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /^'((?:[^'\\$]|\\.|\$(?!\{))*)'$/.exec(value.trim());
  return match ? match[1].replace(/\\(.)/g, "$1") : undefined;
}

/** Resolves a name expression: a literal, or a `var` of the same file holding a literal. */
export function resolveName(value: string | undefined, source: string): string | undefined {
  if (value === undefined) return undefined;
  const direct = literal(value);
  if (direct !== undefined) return direct;
  const viaVar = vars(source).get(value.trim());
  return viaVar === undefined ? undefined : literal(viaVar);
}
