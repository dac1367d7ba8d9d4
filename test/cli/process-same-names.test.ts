/**
 * `custody process` on a folder tree where two files share a name (cameras name files
 * VID_0001.MP4 in every device folder): each file must become its own recording — one upload
 * must never overwrite another's original.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "./run-cli";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "media");

test("two files with the same name in different folders are two recordings, both ready", async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), "custody-same-names-"));
  const input = path.join(work, "input");
  mkdirSync(path.join(input, "a"), { recursive: true });
  mkdirSync(path.join(input, "b"), { recursive: true });
  copyFileSync(path.join(FIXTURES, "exo_fragmented_fmp4.mp4"), path.join(input, "a", "VID_0001.MP4"));
  copyFileSync(path.join(FIXTURES, "ft_aac_audio_only.m4a"), path.join(input, "b", "VID_0001.MP4"));

  const result = await runCli(["process", input, "--json", "--data-dir", path.join(work, "data"), "--timeout", "60"]);
  const results = JSON.parse(result.stdout) as Array<{ file: string; evidenceId: string; status: string; sha256: string }>;
  expect(results).toHaveLength(2);
  expect(new Set(results.map((r) => r.evidenceId)).size).toBe(2);
  for (const r of results) {
    expect(r.status).toBe("ready");
    expect(r.sha256).toBe(createHash("sha256").update(readFileSync(r.file)).digest("hex"));
  }
  expect(result.code).toBe(0);
}, 90_000);

test("--json stays pure JSON on stdout with --verbose (the stack's logs go to stderr)", async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), "custody-verbose-json-"));
  const file = path.join(work, "clip.mp4");
  copyFileSync(path.join(FIXTURES, "exo_fragmented_fmp4.mp4"), file);

  const result = await runCli(["process", file, "--json", "--verbose", "--data-dir", path.join(work, "data"), "--timeout", "60"]);
  const results = JSON.parse(result.stdout) as Array<{ status: string }>;
  expect(results.map((r) => r.status)).toEqual(["ready"]);
  expect(result.stderr).toMatch(/"message":"listening"/);
  expect(result.code).toBe(0);
}, 90_000);
