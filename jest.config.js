/**
 * Three jest projects, so the fast loop stays fast:
 * - unit: pure logic — no servers, no processes, no ffmpeg (`npm run test:unit`, seconds);
 * - integration: the real SDK against one embedded service (Azurite, the Cosmos stand-in, the
 *   Service Bus emulator) or real ffmpeg (`npm run test:integration`);
 * - e2e: the whole embedded stack, the CLI as a process, the pipeline (`npm run test:e2e`).
 * A test file is unit unless test/projects.js lists it; test/support/projects.test.ts keeps
 * the lists honest (every entry exists, and a unit file starts no server or process).
 */
const { INTEGRATION, E2E } = require("./test/projects");

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** Entries are files or folders (ending in "/"): as ignore patterns (regular expressions) and as globs. */
const paths = (list) => list.map((entry) => `<rootDir>/${escapeRegExp(entry)}`);
const globs = (list) => list.map((entry) => (entry.endsWith("/") ? `<rootDir>/${entry}**/*.test.ts` : `<rootDir>/${entry}`));

const common = {
  testEnvironment: "node",
  transform: {
    // ESM only (the C2PA library) and its loader: to CommonJS for jest (see the transform).
    "/shared/media/content-credentials-library\\.ts$": "<rootDir>/test/support/commonjs-transform.js",
    "/node_modules/@trustnxt/c2pa-ts/.+\\.js$": "<rootDir>/test/support/commonjs-transform.js",
    "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }],
  },
  transformIgnorePatterns: ["^(?!.*/node_modules/@trustnxt/c2pa-ts/).*/node_modules/"],
  // Its package exports name only the `import` condition, which jest's CommonJS resolver does not use.
  moduleNameMapper: { "^@trustnxt/c2pa-ts/(asset|cose|jumbf|manifest)$": "<rootDir>/node_modules/@trustnxt/c2pa-ts/dist/$1/index.js" },
};
const TEST_FILES = ["<rootDir>/test/**/*.test.ts", "<rootDir>/{local,shared,cli,functions}/**/*.test.ts"];
const ALWAYS_IGNORED = ["/node_modules/", "/dist/"];

/** @type {import('jest').Config} */
module.exports = {
  // Integration tests talk to real servers over loopback; keep a generous ceiling per test (a global option, not a project one).
  testTimeout: 30000,
  // Two files at a time, also on a 2-core machine (jest's default there is one): every file starts
  // its own services on free ports in its own temporary folders, and most of a file's time is
  // waiting on them — measured 616 s against 856 s one at a time, the whole suite green.
  maxWorkers: 2,
  projects: [
    { ...common, displayName: "unit", testMatch: TEST_FILES, testPathIgnorePatterns: [...ALWAYS_IGNORED, ...paths(INTEGRATION), ...paths(E2E)] },
    { ...common, displayName: "integration", testMatch: globs(INTEGRATION), testPathIgnorePatterns: ALWAYS_IGNORED },
    // The e2e tests start the CLI and the dev host as processes, from dist/: built first when a source is newer.
    { ...common, displayName: "e2e", testMatch: globs(E2E), testPathIgnorePatterns: ALWAYS_IGNORED, globalSetup: "<rootDir>/test/support/e2e-global-setup.js" },
  ],
  reporters: ["default", "<rootDir>/test/support/timing-reporter.js"],
};
