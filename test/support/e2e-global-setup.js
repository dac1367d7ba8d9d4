/** Global setup of the e2e jest project: the CLI and dev-host processes it starts run dist/, so dist/ must be current. */
const { buildIfStale } = require("../../scripts/build-if-stale");

module.exports = async () => {
  buildIfStale();
};
