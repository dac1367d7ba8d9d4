import { createFfmpegMediaTool } from "../shared/adapters/ffmpeg/media-tool";
import { planThumbnails, spriteRun } from "../shared/media/thumbnail-plan";
import { mkdtempSync } from "node:fs";
async function main() {
  const file = process.argv[2];
  const tool = await createFfmpegMediaTool();
  const probe = await tool.probe({ kind: "file", path: file }, { timeoutInMs: 60000 });
  const dir = mkdtempSync("/tmp/thumbs/out-");
  const plan = planThumbnails(probe, probe.streams[probe.primaryVideoIndex!], { count: 8, outputDir: dir });
  const t0 = Date.now();
  for (const run of plan.runs) await tool.run(run.seeks.map((s) => ({ kind: "file" as const, path: file, seekInSeconds: s })), run.arguments, { timeoutInMs: 600000 });
  const t1 = Date.now();
  const sp = spriteRun(plan, plan.times.length);
  const r = await tool.run(sp.inputs.map((p) => ({ kind: "file" as const, path: p })), sp.arguments, { timeoutInMs: 600000 });
  console.log(dir, plan.runs.length, "runs", t1 - t0, "ms images", Date.now() - t1, "ms sprite");
  if (process.env.TAIL) console.log(r.stderrTail);
}
void main();
