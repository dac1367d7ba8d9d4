/**
 * Where the media binaries come from in the deployed media app: FFMPEG_PATH / FFPROBE_PATH
 * relative to the Functions app's folder, and the pinned build's record (build.json, written
 * by scripts/media-tools.js) checked before the binaries are used. Files only — nothing runs.
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { locateMediaBinaries } from "../../shared/adapters/ffmpeg/media-binaries";
import { CustodyError } from "../../shared/errors";

let work: string;
let appRoot: string;
const contents = { ffmpeg: "#!/bin/sh\necho ffmpeg\n", ffprobe: "#!/bin/sh\necho ffprobe\n" };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "custody-media-binaries-"));
  appRoot = path.join(work, "wwwroot");
  const tools = path.join(appRoot, "tools", "ffmpeg");
  mkdirSync(tools, { recursive: true });
  for (const [name, text] of Object.entries(contents)) {
    writeFileSync(path.join(tools, name), text);
    chmodSync(path.join(tools, name), 0o755);
  }
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

function writeRecord(files: Record<string, { sha256: string }>): void {
  writeFileSync(path.join(appRoot, "tools", "ffmpeg", "build.json"), JSON.stringify({ build: "the pinned build", files }));
}

const env = () => ({ AzureWebJobsScriptRoot: appRoot, FFMPEG_PATH: "tools/ffmpeg/ffmpeg", FFPROBE_PATH: "tools/ffmpeg/ffprobe" });

test("a relative FFMPEG_PATH / FFPROBE_PATH names a file in the Functions app's folder (AzureWebJobsScriptRoot), whatever the working directory", async () => {
  const binaries = await locateMediaBinaries({ env: env(), writableDir: work });
  expect(binaries.ffmpeg).toMatchObject({ path: path.join(appRoot, "tools", "ffmpeg", "ffmpeg"), source: "FFMPEG_PATH" });
  expect(binaries.ffprobe).toMatchObject({ path: path.join(appRoot, "tools", "ffmpeg", "ffprobe"), source: "FFPROBE_PATH" });
  expect(binaries.ffmpeg.sha256).toBeUndefined(); // no build record: nothing to check against
});

test("binaries with their build's record are checked against its SHA-256 before use", async () => {
  writeRecord({ ffmpeg: { sha256: sha256(contents.ffmpeg) }, ffprobe: { sha256: sha256(contents.ffprobe) } });
  const binaries = await locateMediaBinaries({ env: env(), writableDir: work });
  expect(binaries.ffmpeg.sha256).toBe(sha256(contents.ffmpeg));
  expect(binaries.ffprobe.sha256).toBe(sha256(contents.ffprobe));
});

test("a binary that is not the build its record names fails the start, naming both digests", async () => {
  writeRecord({ ffmpeg: { sha256: sha256(contents.ffmpeg) }, ffprobe: { sha256: sha256(contents.ffprobe) } });
  writeFileSync(path.join(appRoot, "tools", "ffmpeg", "ffprobe"), "#!/bin/sh\necho something else\n");
  const failure = locateMediaBinaries({ env: env(), writableDir: work });
  await expect(failure).rejects.toBeInstanceOf(CustodyError);
  await expect(failure).rejects.toMatchObject({
    code: "InvalidConfiguration",
    message: expect.stringMatching(/ffprobe .* is not the build its record names \(the pinned build\): SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}/),
  });
});

test("a record without a digest for a binary refuses to run it unchecked", async () => {
  writeRecord({ ffmpeg: { sha256: sha256(contents.ffmpeg) } });
  await expect(locateMediaBinaries({ env: env(), writableDir: work })).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringContaining("records no SHA-256 for ffprobe") });
});
