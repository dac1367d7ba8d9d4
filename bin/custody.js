#!/usr/bin/env node
// The published entry point runs the compiled CLI (npm ci / npm install run `prepare`, which builds dist/).
require("../dist/cli/main.js")
  .main(process.argv)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err && err.message ? err.message : err);
      process.exitCode = 2;
    },
  );
