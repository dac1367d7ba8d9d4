/**
 * Recordings to disclose, made of real bytes: an original (three segments of a small segment
 * size, so a changed byte lands in a segment the test can name), a proxy, a poster made by the
 * project's ffmpeg and a thumbnail carrying Content Credentials; a custody ledger written as the
 * ledger writes it (chainLines); and every issue of the manifest signed by a LocalKeySigner in a
 * temporary folder — what the deployment would hold, with no stack.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { LocalKeySigner } from "../../shared/adapters/local-key-signer";
import { locateMediaBinaries } from "../../shared/adapters/ffmpeg/media-binaries";
import type { DisclosureSource } from "../../shared/disclosure/write-package";
import { chainLines } from "../../shared/evidence/ledger-chain";
import type { EvidenceRecord } from "../../shared/evidence/record";
import type { Rendition } from "../../shared/contracts/messages";
import type { EvidenceSigner } from "../../shared/ports/evidence-signer";
import type { SignedManifestFiles } from "../../shared/ports/manifest-store";
import { buildEvidenceManifest } from "../../shared/provenance/manifest";
import { signEvidenceManifest } from "../../shared/provenance/manifest-signature";
import { readyRecord } from "../provenance/ready-record";
import type { TestContentCredentials } from "../support/test-signer";

export const SEGMENT = 4096;
const sha = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** A real JPEG from ffmpeg's test source (one frame). */
export async function makeJpeg(work: string, name: string, size = "320x180"): Promise<Buffer> {
  const { ffmpeg } = await locateMediaBinaries();
  const out = path.join(work, name);
  execFileSync(ffmpeg.path, ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=s=${size}:r=25:d=1`, "-frames:v", "1", out]);
  return readFileSync(out);
}

export interface FixtureRecording {
  evidenceId: string;
  record: EvidenceRecord;
  original: Buffer;
  /** By path in the derived container. */
  renditions: Map<string, Buffer>;
  ledgerLines: string[];
  manifests: Array<{ sequence: number; files: SignedManifestFiles }>;
}

export interface MakeRecordingOptions {
  evidenceId: string;
  signer: EvidenceSigner;
  poster: Buffer;
  /** Signs a thumbnail with Content Credentials naming this recording's original (or `ingredientSha256`). */
  contentCredentials?: TestContentCredentials;
  ingredientSha256?: string;
  /** Issue a second manifest (a reprocess), keeping the first. */
  reissue?: boolean;
  issuedAt?: string;
  /** The original's blob name (default: the ready record's). */
  originalName?: string;
}

export async function makeRecording(options: MakeRecordingOptions): Promise<FixtureRecording> {
  const { evidenceId } = options;
  const original = randomBytes(SEGMENT * 2 + 1000);
  const proxy = randomBytes(3000);
  const base = readyRecord();
  const renditions = new Map<string, Buffer>();
  const rendition = (stage: string, kind: Rendition["kind"], name: string, contentType: string, bytes: Buffer): Rendition => {
    const at = `${evidenceId}/${stage}/${name}`;
    renditions.set(at, bytes);
    return { kind, name, container: "derived", path: at, contentType, size: bytes.length, sha256: sha(bytes) };
  };
  const thumbnails: Rendition[] = [rendition("thumbnail", "poster", "poster.jpg", "image/jpeg", options.poster)];
  if (options.contentCredentials !== undefined) {
    const signed = Buffer.from(
      await options.contentCredentials.contentCredentials.signJpeg(options.poster, {
        title: "thumb-01.jpg",
        original: { name: "clip.mp4", sha256: options.ingredientSha256 ?? sha(original), size: original.length },
        action: { kind: "thumbnail", description: "the frame at 0 s", tool: { name: "ffmpeg", version: "test" }, runs: [["-i", "clip.mp4", "thumb-01.jpg"]] },
      }),
    );
    thumbnails.push(rendition("thumbnail", "thumbnail", "thumb-01.jpg", "image/jpeg", signed));
  }
  const record: EvidenceRecord = {
    ...base,
    id: evidenceId,
    evidenceId,
    original: { ...base.original!, size: original.length, ...(options.originalName === undefined ? {} : { name: options.originalName }) },
    hash: { sha256: sha(original), size: original.length, segmentSizeInBytes: SEGMENT, segmentSha256: [0, 1, 2].map((i) => sha(original.subarray(i * SEGMENT, (i + 1) * SEGMENT))) },
    stages: {
      ...base.stages,
      thumbnail: { ...base.stages.thumbnail!, renditions: thumbnails },
      // segmentCount sorts between path and sha256 in the canonical manifest: the VERIFY guide must not rely on their order.
      transcode: { ...base.stages.transcode!, renditions: [{ ...rendition("transcode", "proxy", "proxy.mp4", "video/mp4", proxy), segmentCount: 2 }] },
    },
  };
  const entries = Array.from({ length: 5 }, (_, i) => ({
    v: 1,
    kind: "published",
    evidenceId,
    messageId: `m-${i}`,
    eventType: "evidence-updated",
    recordedAt: `2026-11-26T09:3${i}:00Z`,
    recordedBy: "custody/index",
  }));
  const { lines } = chainLines(undefined, entries);
  const headAt = (n: number) => ({ sha256: sha(Buffer.from(lines[n - 1], "utf8")), entries: n });
  const issuedAt = options.issuedAt ?? new Date().toISOString();
  const manifests: FixtureRecording["manifests"] = [];
  const first = await signEvidenceManifest(buildEvidenceManifest(record, { custodyLog: headAt(3), issuedAt, keyId: options.signer.keyId }), options.signer);
  manifests.push({ sequence: 1, files: { manifestJson: first.manifestJson, signature: first.signature, jws: first.jws } });
  if (options.reissue) {
    const second = await signEvidenceManifest(
      buildEvidenceManifest(record, { custodyLog: headAt(4), issuedAt, keyId: options.signer.keyId, previousManifest: { sha256: sha(first.manifestJson), issuedAt } }),
      options.signer,
    );
    manifests.push({ sequence: 2, files: { manifestJson: second.manifestJson, signature: second.signature, jws: second.jws } });
  }
  return { evidenceId, record, original, renditions, ledgerLines: lines, manifests };
}

/** What the deployment holds for `recording`; with `trustAnchorPems`, the Content Credentials CA certificates it publishes. */
export async function sourceFor(recording: FixtureRecording, signer: LocalKeySigner, trustAnchorPems?: readonly string[]): Promise<DisclosureSource> {
  return {
    evidenceId: recording.evidenceId,
    manifests: recording.manifests,
    ledgerLines: recording.ledgerLines,
    publishedKeys: await signer.publishedKeys(),
    ...(trustAnchorPems === undefined ? {} : { trustAnchorPems }),
    openOriginal: () => Promise.resolve(Readable.from([recording.original.subarray(0, 5000), recording.original.subarray(5000)])),
    openRendition: (r) => {
      const bytes = recording.renditions.get(r.path);
      return bytes === undefined ? Promise.reject(new Error(`no rendition at ${r.path}`)) : Promise.resolve(Readable.from([bytes]));
    },
  };
}

export const EVIDENCE_A = "ev-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
export const EVIDENCE_B = "ev-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
