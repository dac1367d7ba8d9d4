/**
 * A jest transform to CommonJS for the few files jest on Node 20 cannot run as they are: the
 * ESM-only C2PA library (@trustnxt/c2pa-ts and its ESM-only dependencies) and the one module
 * that loads it with `import()` (shared/media/content-credentials-library.ts) — jest runs CommonJS and
 * refuses a dynamic import without --experimental-vm-modules. Node itself loads them as they
 * are. TypeScript's own transpiler, so no other tool is needed.
 */
const crypto = require("node:crypto");
const ts = require("typescript");

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  allowJs: true,
  inlineSourceMap: true,
  inlineSources: true,
};

module.exports = {
  process(source, filename) {
    return { code: ts.transpileModule(source, { fileName: filename, compilerOptions }).outputText };
  },
  getCacheKey(source, filename) {
    return crypto.createHash("sha256").update(ts.version).update("\0").update(filename).update("\0").update(source).digest("hex");
  },
};
