/**
 * Jest reporter: after a run, the wall time of the whole run and its slowest test files, so a
 * test that makes the loop slow is seen the day it lands. Jest's own summary gives the time of
 * the run but not which files took it.
 */
const path = require("node:path");

const SLOWEST = 8;

class TimingReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const files = results.testResults
      .filter((file) => file.perfStats && file.perfStats.end > 0)
      .map((file) => ({ file: path.relative(this.rootDir, file.testFilePath), inMs: file.perfStats.end - file.perfStats.start, project: file.displayName && file.displayName.name }))
      .sort((a, b) => b.inMs - a.inMs);
    if (files.length === 0) return;
    const wallInMs = Date.now() - results.startTime;
    const lines = [`Suite time: ${seconds(wallInMs)} for ${files.length} file(s) (${seconds(files.reduce((sum, f) => sum + f.inMs, 0))} summed over files). Slowest:`];
    for (const f of files.slice(0, SLOWEST)) lines.push(`  ${seconds(f.inMs).padStart(7)}  ${f.file}${f.project ? ` [${f.project}]` : ""}`);
    process.stderr.write(`\n${lines.join("\n")}\n`);
  }
}

function seconds(inMs) {
  return `${(inMs / 1000).toFixed(1)} s`;
}

module.exports = TimingReporter;
