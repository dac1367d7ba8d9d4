/**
 * The thumbnail stage with real ffmpeg against Azurite: a rotated phone clip gives upright
 * images, a 0.5 s clip still gets a poster, audio-only is skipped with "no video stream", a
 * truncated MOV fails for good, a 10-minute recording gets 120 thumbnails on six sheets from
 * input-side seeks only; every file exists, is non-empty and matches its SHA-256; every JPEG
 * carries valid Content Credentials naming the original and the run that wrote it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { isCustodyError } from "../../shared/errors";
import type { StageWork } from "../../shared/stages/report-stage";
import { MediaSession } from "../../shared/stages/media-session";
import { digestOriginal } from "../../shared/stages/thumbnail-credentials";
import { thumbnailOriginal } from "../../shared/stages/thumbnail-stage";
import { FIXTURES, sha256, stageContext, startMediaHarness, type MediaHarness } from "./media-harness";
import { withClaimedMatroskaDuration } from "../support/crafted-media";
import { verifyContentCredentials } from "../../shared/media/content-credentials";
import { testContentCredentials, type TestContentCredentials } from "../support/test-signer";

let h: MediaHarness;
let credentials: TestContentCredentials;
const context = stageContext("custody/thumbnail@test");

beforeAll(async () => {
  h = await startMediaHarness("thumbnail-stage");
  credentials = await testContentCredentials();
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

async function runThumbnails(file: string): Promise<{ work: StageWork; evidenceId: string }> {
  const input = await h.upload(file);
  return { work: await thumbnailOriginal(input, { blobs: h.store, media: h.media, contentCredentials: credentials.contentCredentials }, context), evidenceId: input.evidenceId };
}

/** Downloads every rendition, checks size and SHA-256, returns the bytes by name. */
async function stored(work: StageWork): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const rendition of work.renditions ?? []) {
    const bytes = await h.download(rendition.path);
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.length).toBe(rendition.size);
    expect(sha256(bytes)).toBe(rendition.sha256);
    out[rendition.name] = bytes;
  }
  return out;
}

function imageSize(bytes: Buffer, name: string): { width: number; height: number } {
  const file = path.join(h.work, `${sha256(bytes).slice(0, 12)}-${name}`);
  writeFileSync(file, bytes);
  const [stream] = h.ffprobe(file).streams;
  return { width: Number(stream.width), height: Number(stream.height) };
}

test("a rotated phone clip → upright poster, thumbnails and sprite, with a WebVTT track addressing the sprite", async () => {
  const { work, evidenceId } = await runThumbnails(path.join(FIXTURES, "exo_phone_hevc_mett_track_rot90.mp4"));
  expect(work.outcome).toBe("succeeded");
  const names = work.renditions!.map((r) => r.name);
  expect(names).toEqual(["poster.jpg", ...Array.from({ length: names.length - 3 }, (_, k) => `thumb-0${k + 1}.jpg`), "sprite.jpg", "sprite.vtt"]);
  expect(work.renditions!.every((r) => r.path === `${evidenceId}/thumbnail/${r.name}` && r.container === "derived")).toBe(true);
  const files = await stored(work);
  const poster = imageSize(files["poster.jpg"], "poster.jpg");
  expect(poster.height).toBeGreaterThan(poster.width);
  const thumb = imageSize(files["thumb-01.jpg"], "thumb-01.jpg");
  expect(thumb).toEqual({ width: 320, height: 568 });
  const vtt = files["sprite.vtt"].toString("utf8");
  expect(vtt.startsWith("WEBVTT\n")).toBe(true);
  const cues = vtt.match(/sprite\.jpg#xywh=\d+,\d+,\d+,\d+/g) ?? [];
  expect(cues).toHaveLength(names.length - 3);
  const thumbnails = work.renditions!.filter((r) => r.kind === "thumbnail");
  expect(thumbnails.map((t) => t.timeInSeconds)).toEqual([...thumbnails.map((t) => t.timeInSeconds!)].sort((a, b) => a - b));
  expect(work.renditions!.find((r) => r.kind === "poster")!.timeInSeconds).toBeCloseTo(0.01, 2);
  // Every image carries Content Credentials naming this original, valid under the test CA.
  const originalSha256 = sha256(readFileSync(path.join(FIXTURES, "exo_phone_hevc_mett_track_rot90.mp4")));
  for (const name of names.filter((n) => n.endsWith(".jpg"))) {
    const verification = await verifyContentCredentials(files[name], { trustAnchorPems: [credentials.ca.certificatePem], expectedOriginalSha256: originalSha256 });
    expect({ name, valid: verification.valid, failures: verification.failures }).toEqual({ name, valid: true, failures: [] });
  }
  expect(work.provenance!.runs.at(-1)!.arguments.slice(0, 2)).toEqual([`original sha256 ${originalSha256}`, `key ${credentials.signer.keyId}`]);
  // An MP4: one run over an excerpt of it (the HEVC groups of pictures, with the rotation copied).
  expect(work.provenance!.runs.map((r) => r.purpose)).toEqual(["probe", "excerpt", "thumbnails", "content-credentials"]);
}, 30_000);

test("N thumbnails spread over a 10 s clip; the sprite is a 5×2 grid of 160 px cells", async () => {
  const file = h.generate("ten-seconds.mp4", ["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=10", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast"]);
  const { work } = await runThumbnails(file);
  const thumbnails = work.renditions!.filter((r) => r.kind === "thumbnail");
  expect(thumbnails.map((t) => t.timeInSeconds)).toEqual([0, 1.25, 2.5, 3.75, 5, 6.25, 7.5, 8.75]);
  const files = await stored(work);
  expect(imageSize(files["sprite.jpg"], "sprite.jpg")).toEqual({ width: 5 * 160, height: 2 * 90 });
  expect(files["sprite.vtt"].toString()).toContain("00:00:08.750 --> 00:00:10.000\nsprite.jpg#xywh=320,90,160,90");
}, 30_000);

/** 10 minutes at 10 fps, a keyframe every 2 s: frame n is at n/10 s. */
function tenMinutes(): string {
  return h.generate("ten-minutes.mp4", ["-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=600", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", "20"]);
}

/** 120 thumbnails on six 5×4 sheets, each sheet's last cell a picture, the cues on their sheets. */
async function expectTenMinuteSet(work: StageWork): Promise<Record<string, Buffer>> {
  expect(work.outcome).toBe("succeeded");
  const thumbnails = work.renditions!.filter((r) => r.kind === "thumbnail");
  expect(thumbnails.map((t) => t.timeInSeconds)).toEqual(Array.from({ length: 120 }, (_, k) => k * 5));
  const sheets = work.renditions!.filter((r) => r.kind === "sprite");
  expect(sheets.map((r) => r.name)).toEqual(["sprite-01.jpg", "sprite-02.jpg", "sprite-03.jpg", "sprite-04.jpg", "sprite-05.jpg", "sprite-06.jpg"]);
  const files = await stored(work);
  for (const sheet of sheets) {
    expect(imageSize(files[sheet.name], sheet.name)).toEqual({ width: 5 * 160, height: 4 * 90 });
    // Its last cell holds a picture (a sheet short of a cell is padded black).
    const sheetFile = path.join(h.work, `${sheet.name}.jpg`);
    writeFileSync(sheetFile, files[sheet.name]);
    const cell = readFileSync(h.generate(`${sheet.name}-last-cell.gray`, ["-i", sheetFile, "-vf", "crop=160:90:640:270,format=gray", "-f", "rawvideo"]));
    expect(cell.reduce((sum, v) => sum + v, 0) / cell.length).toBeGreaterThan(40);
  }
  const vtt = files["sprite.vtt"].toString();
  expect(vtt.match(/#xywh=/g)).toHaveLength(120);
  expect(vtt).toContain("21\n00:01:40.000 --> 00:01:45.000\nsprite-02.jpg#xywh=0,0,160,90\n");
  expect(vtt).toContain("120\n00:09:55.000 --> 00:10:00.000\nsprite-06.jpg#xywh=640,270,160,90\n");
  return files;
}

/** Mean absolute difference of two pictures' grey levels at 320×180. */
function difference(a: string, b: string): number {
  const gray = (file: string, extra: string[]): Buffer => readFileSync(h.generate(`${path.basename(file)}-${extra.join("").replace(/\W/g, "")}.gray`, ["-i", file, ...extra]));
  const x = gray(a, ["-vf", "scale=320:180,format=gray", "-frames:v", "1", "-f", "rawvideo"]);
  const y = gray(b, ["-vf", "scale=320:180,format=gray", "-frames:v", "1", "-f", "rawvideo"]);
  expect(x.length).toBe(y.length);
  return x.reduce((sum, v, i) => sum + Math.abs(v - y[i]), 0) / x.length;
}

test("a 10-minute MP4: 120 thumbnails on six sprite sheets from one run over an excerpt — each the exact frame at its time, no run reads the recording through", async () => {
  const original = tenMinutes();
  const { work } = await runThumbnails(original);
  const files = await expectTenMinuteSet(work);

  // What ran: the sample table read once (the excerpt), then one ffmpeg run whose only input is
  // the local excerpt — never the original, never a seek.
  const runs = work.provenance!.runs;
  expect(runs.map((r) => r.purpose)).toEqual(["probe", "excerpt", "thumbnails", "content-credentials"]);
  const [excerpt, run] = runs.slice(1);
  const inputs = run.arguments.flatMap((a, i) => (a === "-i" ? [run.arguments[i + 1]] : []));
  expect(inputs).toHaveLength(1);
  expect(inputs[0]).toMatch(/^file:.*excerpt\.mp4$/);
  expect(run.arguments).not.toContain("-ss");
  // One piece per image (poster, then 120 thumbnails), each from a keyframe (every 20th sample)
  // up to its frame: at most a group of pictures each, a small part of the 6000 samples.
  const pieces = excerpt.arguments.slice(3).map((p) => p.split("-").map(Number));
  expect(pieces).toHaveLength(121);
  for (const [first, last] of pieces) {
    expect(first % 20).toBe(0);
    expect(last - first).toBeLessThan(20);
  }
  expect(pieces.reduce((sum, [first, last]) => sum + last - first + 1, 0)).toBeLessThan(6000 / 2);

  // The exact frames: thumbnail k shows frame 50·k (at k·5 s) — closer to it than to either neighbour,
  // from a keyframe (k even) or the middle of a group (k odd).
  for (const k of [0, 1, 7, 60, 119]) {
    const thumb = path.join(h.work, `thumb-${k}.jpg`);
    writeFileSync(thumb, files[`thumb-${String(k + 1).padStart(2, "0")}.jpg`]);
    const frame = (n: number): string => h.generate(`frame-${n}.png`, ["-i", original, "-vf", `select=eq(n\\,${n})`, "-vsync", "passthrough", "-frames:v", "1"]);
    const exact = difference(thumb, frame(50 * k));
    expect(exact).toBeLessThan(difference(thumb, frame(50 * k + 1)));
    if (k > 0) expect(exact).toBeLessThan(difference(thumb, frame(50 * k - 1)));
  }
}, 120_000);

test("a 10-minute MKV: the same set by input-side seeks (one open per image) and a sprite run over the cells", async () => {
  const file = h.generate("ten-minutes.mkv", ["-i", tenMinutes(), "-c", "copy"]);
  const { work } = await runThumbnails(file);
  const thumbnails = work.renditions!.filter((r) => r.kind === "thumbnail");
  await expectTenMinuteSet(work);

  // What ran: every input of the original opened at a seek (`-ss` right before its options and
  // `-i`), one per image; the sprite run reads only the local cells files.
  const runs = work.provenance!.runs;
  const imageRuns = runs.filter((r) => r.purpose === "thumbnails");
  expect(runs.map((r) => r.purpose)).toEqual(["probe", ...imageRuns.map(() => "thumbnails"), "sprite", "content-credentials"]);
  const seeks: number[] = [];
  for (const run of imageRuns) {
    const inputs = run.arguments.flatMap((a, i) => (a === "-i" ? [i] : []));
    const seekAt = run.arguments.flatMap((a, i) => (a === "-ss" ? [i] : []));
    expect(seekAt).toHaveLength(inputs.length);
    inputs.forEach((at, n) => {
      expect(seekAt[n]).toBeLessThan(at);
      expect(n === 0 || seekAt[n] > inputs[n - 1]).toBe(true); // its own seek, not the previous input's
      expect(run.arguments[at + 1]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
      seeks.push(Number(run.arguments[seekAt[n] + 1]));
    });
  }
  expect(seeks).toEqual([1, ...thumbnails.map((t) => t.timeInSeconds)]);
  const sprite = runs.find((r) => r.purpose === "sprite")!;
  expect(sprite.arguments.filter((a) => a === "-i")).toHaveLength(imageRuns.length);
  expect(sprite.arguments.filter((_, i) => sprite.arguments[i - 1] === "-i").every((a) => a.startsWith("file:") && a.endsWith(".mkv"))).toBe(true);

  // Each image's Content Credentials record the run that wrote it, not every run of the stage.
  const recordedRuns = async (name: string) => {
    const rendition = work.renditions!.find((r) => r.name === name)!;
    const verification = await verifyContentCredentials(await h.download(rendition.path), { trustAnchorPems: [credentials.ca.certificatePem] });
    expect(verification.valid).toBe(true);
    return verification.actions?.find((a) => a.action === "c2pa.edited")?.runs;
  };
  expect(imageRuns.length).toBeGreaterThan(1);
  expect(await recordedRuns("thumb-01.jpg")).toEqual([imageRuns[0].arguments]);
  expect(await recordedRuns(thumbnails.at(-1)!.name)).toEqual([imageRuns.at(-1)!.arguments]);
  expect(await recordedRuns("sprite-06.jpg")).toEqual([sprite.arguments]);
}, 120_000);

test("a fragmented MP4 (no sample table in its moov) → the same images by input-side seeks", async () => {
  const { work } = await runThumbnails(path.join(FIXTURES, "exo_fragmented_fmp4.mp4"));
  expect(work.outcome).toBe("succeeded");
  expect(work.provenance!.runs.map((r) => r.purpose)).toEqual(["probe", "thumbnails", "sprite", "content-credentials"]);
  expect(work.provenance!.runs[1].arguments).toContain("-ss");
  const files = await stored(work);
  expect(Object.keys(files).filter((n) => n.startsWith("thumb-")).length).toBeGreaterThan(0);
}, 30_000);

test("a 0.5 s clip still gets a poster", async () => {
  const file = h.generate("half-second.mp4", ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=0.5", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast"]);
  const { work } = await runThumbnails(file);
  const poster = work.renditions!.find((r) => r.kind === "poster")!;
  expect(poster.timeInSeconds).toBeGreaterThan(0);
  expect(poster.timeInSeconds).toBeLessThan(0.1); // 10 % of ~0.5 s
  expect(poster.size).toBeGreaterThan(0);
  await stored(work);
}, 30_000);

test("audio only → skipped with 'no video stream', nothing written", async () => {
  const { work, evidenceId } = await runThumbnails(path.join(FIXTURES, "ft_aac_audio_only.m4a"));
  expect(work).toMatchObject({ outcome: "skipped", skipReason: "no video stream", renditions: [] });
  expect(work.media?.primaryAudioIndex).toBe(0);
  const listed: string[] = [];
  for await (const blob of h.derived.listBlobsFlat({ prefix: `${evidenceId}/` })) listed.push(blob.name);
  expect(listed).toEqual([]);
}, 30_000);

test("a MOV cut inside its moov → final UnsupportedMedia", async () => {
  const input = await h.upload(path.join(FIXTURES, "ft_mov_truncated_moov.mov"));
  const failure = await thumbnailOriginal(input, { blobs: h.store, media: h.media, contentCredentials: credentials.contentCredentials }, context).catch((error: unknown) => error);
  expect(isCustodyError(failure) && { code: failure.code, retryable: failure.retryable }).toEqual({ code: "UnsupportedMedia", retryable: false });
}, 30_000);

test("an MKV whose header claims a 10-year duration → final UnsupportedMedia naming the claim, not Internal (retried)", async () => {
  const clip = h.generate("two-seconds.mkv", ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast"]);
  const crafted = withClaimedMatroskaDuration(clip, 10 * 365 * 86_400, path.join(h.work, "ten-years.mkv"));
  expect(Number(h.ffprobe(crafted).format.duration)).toBe(315_360_000); // what the header says
  const input = await h.upload(crafted);
  const failure = await thumbnailOriginal(input, { blobs: h.store, media: h.media, contentCredentials: credentials.contentCredentials }, context).catch((error: unknown) => error);
  expect(isCustodyError(failure) && { code: failure.code, retryable: failure.retryable }).toEqual({ code: "UnsupportedMedia", retryable: false });
  expect((failure as Error).message).toMatch(/claims a duration of 3650 days.*7 days/);
}, 30_000);

test("the original's digest for the Content Credentials: the exact bytes' SHA-256; a size other than announced → OriginalChanged; cancelled → the read stops", async () => {
  const file = path.join(FIXTURES, "exo_phone_hevc_mett_track_rot90.mp4");
  const input = await h.upload(file);
  const session = (message: typeof input) => new MediaSession(message, "thumbnail", { blobs: h.store, media: h.media }, context);
  expect(await digestOriginal(session(input)).sha256).toBe(sha256(readFileSync(file)));

  const shorter = await digestOriginal(session({ ...input, original: { ...input.original, size: input.original.size - 1 } })).sha256.catch((error: unknown) => error);
  expect(isCustodyError(shorter) && shorter.code).toBe("OriginalChanged");

  const cancelled = digestOriginal(session(input));
  cancelled.cancel();
  await expect(cancelled.sha256).rejects.toThrow();
});
