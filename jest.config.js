/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  testMatch: ["<rootDir>/test/**/*.test.ts", "<rootDir>/{local,shared,cli,functions}/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  // Integration tests talk to real servers over loopback; keep a generous ceiling per test.
  testTimeout: 30000,
};
