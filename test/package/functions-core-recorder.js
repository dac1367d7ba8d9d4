/**
 * Preloaded (`node -r`) into a process that loads the deployment package's entry point: stands
 * in for the Azure Functions Node.js worker, which hands `@azure/functions` the module
 * `@azure/functions-core` the same way (a require hook). `@azure/functions` then registers
 * for real — builds each function's binding metadata and calls `registerFunction` — instead
 * of skipping the calls in its "test mode". At exit the calls, and every module file the
 * process loaded, are written as JSON to CUSTODY_RECORD_FILE.
 */
"use strict";
const fs = require("node:fs");
const Module = require("node:module");

const recorded = { programmingModel: undefined, registrations: [] };
const coreApi = {
  version: "recorder",
  hostVersion: "4.0.0",
  setProgrammingModel(model) {
    recorded.programmingModel = { name: model.name, version: model.version };
  },
  getProgrammingModel() {
    return undefined;
  },
  registerFunction(metadata, callback) {
    recorded.registrations.push({ ...metadata, callbackIsFunction: typeof callback === "function" });
    return { dispose() {} };
  },
  registerHook() {
    return { dispose() {} };
  },
  log() {},
};

const originalRequire = Module.prototype.require;
Module.prototype.require = function (id) {
  if (id === "@azure/functions-core") return coreApi;
  return originalRequire.apply(this, arguments);
};

process.on("exit", () => {
  fs.writeFileSync(process.env.CUSTODY_RECORD_FILE, JSON.stringify({ ...recorded, modules: Object.keys(require.cache) }));
});
