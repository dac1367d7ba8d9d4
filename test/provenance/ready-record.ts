/** A recording as the index holds it once ready: hashed, transcoded (once reprocessed), thumbnailed. */
import type { EvidenceRecord } from "../../shared/evidence/record";

export const EVIDENCE_ID = "ev-0123456789abcdef0123456789abcdef";
const SHA = (c: string): string => c.repeat(64);

const tools = { ffmpeg: "ffmpeg version 7.1 Copyright (c) 2000-2024", ffprobe: "ffprobe version 7.1" };
const source = { container: "originals", name: "borough-01/A123/cam7/2026-11-26T09-00-00Z.mp4", versionId: "2026-11-26T09:30:00.1234567Z", etag: '"0x8DD"', sha256: SHA("a") };

export function readyRecord(): EvidenceRecord {
  return {
    id: EVIDENCE_ID,
    evidenceId: EVIDENCE_ID,
    schemaVersion: 1,
    status: "ready",
    original: {
      account: "custodyevidence",
      container: "originals",
      name: source.name,
      versionId: source.versionId,
      etag: source.etag,
      url: `https://custodyevidence.blob.core.windows.net/originals/${source.name}`,
      size: 9_437_184,
      contentType: "video/mp4",
    },
    capture: { officerId: "A123", deviceId: "cam7", recordedAt: "2026-11-26T09:00:00+00:00", deviceSha256: SHA("a"), unit: "borough-01" },
    uploadedAt: "2026-11-26T09:30:00.000Z",
    requiredStages: ["hash", "transcode", "thumbnail"],
    stages: {
      // Set out of pipeline order on purpose: the manifest lists stages in pipeline order.
      thumbnail: {
        status: "succeeded",
        attempts: 1,
        resultKey: "sr-thumb-1",
        renditions: [
          {
            kind: "poster",
            name: "poster.jpg",
            container: "derived",
            path: `${EVIDENCE_ID}/thumbnail/poster.jpg`,
            contentType: "image/jpeg",
            size: 40_000,
            sha256: SHA("c"),
            width: 1280,
            height: 720,
            timeInSeconds: 1.5,
          },
          {
            kind: "thumbnail",
            name: "thumb-01.jpg",
            container: "derived",
            path: `${EVIDENCE_ID}/thumbnail/thumb-01.jpg`,
            contentType: "image/jpeg",
            size: 9_000,
            sha256: SHA("d"),
            width: 320,
            height: 180,
            timeInSeconds: 3,
          },
        ],
        provenance: {
          source,
          tools,
          runs: [
            {
              purpose: "thumbnails",
              arguments: ["-ss", "3", "-i", "https://…/original.mp4?<redacted>", "-frames:v", "1", "thumb-01.jpg"],
              startedAt: "2026-11-26T09:31:00Z",
              finishedAt: "2026-11-26T09:31:02Z",
            },
          ],
          startedAt: "2026-11-26T09:31:00Z",
          finishedAt: "2026-11-26T09:31:02Z",
        },
      },
      hash: { status: "succeeded", attempts: 1, resultKey: "sr-hash-1" },
      transcode: {
        status: "succeeded",
        attempts: 1,
        resultKey: "sr-transcode-2",
        renditions: [
          {
            kind: "proxy",
            name: "proxy.mp4",
            container: "derived",
            path: `${EVIDENCE_ID}/transcode/reprocess-rp1/proxy.mp4`,
            contentType: "video/mp4",
            size: 2_000_000,
            sha256: SHA("e"),
            width: 1280,
            height: 720,
            durationInSeconds: 60.04,
          },
        ],
        provenance: {
          source,
          tools,
          runs: [
            {
              purpose: "transcode",
              arguments: ["-i", "https://…/original.mp4?<redacted>", "-c:v", "libx264", "-pix_fmt", "yuv420p", "proxy.mp4"],
              startedAt: "2026-11-27T08:00:00Z",
              finishedAt: "2026-11-27T08:01:00Z",
            },
          ],
          startedAt: "2026-11-27T08:00:00Z",
          finishedAt: "2026-11-27T08:01:00Z",
        },
        superseded: [
          {
            resultKey: "sr-transcode-1",
            startedAt: "2026-11-26T09:31:00Z",
            finishedAt: "2026-11-26T09:32:00Z",
            renditions: [{ kind: "proxy", name: "proxy.mp4", path: `${EVIDENCE_ID}/transcode/proxy.mp4`, size: 2_100_000, sha256: SHA("f") }],
            tools: { ffmpeg: "ffmpeg version 7.0", ffprobe: "ffprobe version 7.0" },
          },
        ],
      },
    },
    hash: { sha256: SHA("a"), size: 9_437_184, segmentSizeInBytes: 4_194_304, segmentSha256: [SHA("1"), SHA("2"), SHA("3")], deviceSha256: SHA("a"), matchesDevice: true },
    integrityFindings: [],
    custodyLog: [{ key: "m-1", at: "2026-11-26T09:30:00Z", actor: "custody/ingest", action: "received" }],
    createdAt: "2026-11-26T09:30:01.000Z",
    updatedAt: "2026-11-27T08:01:05.000Z",
  };
}

export const LOG_HEAD = { sha256: SHA("9"), entries: 7 };
