import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { locateMediaBinaries } from "../../shared/adapters/ffmpeg/media-binaries";
import { verifyContentCredentials } from "../../shared/media/content-credentials";
import { testContentCredentials } from "../support/test-signer";

test("probe", async () => {
  const bin = await locateMediaBinaries();
  const work = mkdtempSync(path.join(os.tmpdir(), "custody-cc-"));
  const out = path.join(work, "t.jpg");
  execFileSync(bin.ffmpeg.path, ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180", "-frames:v", "1", out]);
  const t0 = performance.now();
  const cc = await testContentCredentials();
  const t1 = performance.now();
  const jpeg = readFileSync(out);
  const signed = await cc.contentCredentials.signJpeg(jpeg, { title: "t.jpg", original: { name: "a.mp4", sha256: "a".repeat(64), size: 10, versionId: "v1" }, action: { kind: "thumbnail", description: "frame", tool: { name: "ffmpeg", version: "7.0" }, arguments: ["-i", "x"], parameters: { timeInSeconds: 1.5 } } });
  const t2 = performance.now();
  const v = await verifyContentCredentials(signed, { trustAnchorPems: [cc.ca.certificatePem], expectedOriginalSha256: "a".repeat(64) });
  const t3 = performance.now();
  console.log(jpeg.length, signed.length, (t1-t0).toFixed(0), (t2-t1).toFixed(0), (t3-t2).toFixed(0), JSON.stringify(v, null, 1).slice(0, 3000));
  rmSync(work, { recursive: true, force: true });
});
