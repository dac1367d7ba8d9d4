/**
 * `custody process` as a user runs it on a folder of files it has never seen: real footage,
 * an empty file and odd names. It starts an embedded stack, and prints one JSON result per
 * file with the correct SHA-256 and a final state.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "./run-cli";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "media");

test("process gives every file a final state with its SHA-256, JSON on stdout, exit code 1 when one is rejected", async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), "custody-process-"));
  const input = path.join(work, "input");
  mkdirSync(path.join(input, "nested"), { recursive: true });
  copyFileSync(path.join(FIXTURES, "exo_fragmented_fmp4.mp4"), path.join(input, "phone clip.mp4"));
  copyFileSync(path.join(FIXTURES, "ft_aac_audio_only.m4a"), path.join(input, "nested", "Zoë #1 100%.m4a"));
  writeFileSync(path.join(input, "empty.mp4"), "");
  const out = path.join(work, "out");

  const result = await runCli(["process", input, "--json", "--out", out, "--data-dir", path.join(work, "data"), "--timeout", "60"]);
  expect(result.stderr).toBe("");
  const results = JSON.parse(result.stdout) as Array<{ file: string; evidenceId: string; status: string; sha256: string; reason?: string; stages: Record<string, { status: string }> }>;
  expect(results.map((r) => path.relative(input, r.file)).sort()).toEqual(["empty.mp4", path.join("nested", "Zoë #1 100%.m4a"), "phone clip.mp4"]);
  for (const r of results) {
    expect(r.sha256).toBe(createHash("sha256").update(readFileSync(r.file)).digest("hex"));
    expect(r.evidenceId).toMatch(/^ev-[0-9a-f]{32}$/);
    expect(r.stages.hash.status).toBe("succeeded");
    expect(existsSync(path.join(out, r.evidenceId, "record.json"))).toBe(true);
  }
  const byName = Object.fromEntries(results.map((r) => [path.basename(r.file), r]));
  expect(byName["phone clip.mp4"].status).toBe("ready");
  expect(byName["Zoë #1 100%.m4a"].status).toBe("ready");
  // The renditions beside record.json, laid out as in the derived container.
  const phone = path.join(out, byName["phone clip.mp4"].evidenceId);
  for (const file of ["transcode/proxy.mp4", "thumbnail/poster.jpg", "thumbnail/thumb-01.jpg", "thumbnail/sprite.jpg", "thumbnail/sprite.vtt"]) expect(existsSync(path.join(phone, file))).toBe(true);
  expect(existsSync(path.join(out, byName["Zoë #1 100%.m4a"].evidenceId, "transcode", "proxy.m4a"))).toBe(true);
  expect(byName["empty.mp4"].status).toBe("rejected");
  expect(byName["empty.mp4"].reason).toMatch(/EmptyBlob/);
  expect(result.code).toBe(1);
}, 90_000);

test("a usage error exits with code 2 and says what is wrong", async () => {
  const result = await runCli(["process", "/no/such/path", "--json"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/No such file or folder: \/no\/such\/path/);
});
