/**
 * Content Credentials for the thumbnail stage's images: the SHA-256 of the exact original (read
 * once while ffmpeg works: the stage's message does not carry it, the hash stage runs beside
 * this one), and each JPEG signed in place before it is uploaded — so the rendition's recorded
 * SHA-256 and size are those of the signed file (shared/media/content-credentials.ts).
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { CustodyError } from "../errors";
import type { ContentCredentials, OriginalIngredient, RenditionImageKind } from "../media/content-credentials";
import type { MediaToolRun } from "../contracts/messages";
import type { MediaSession } from "./media-session";

export interface OriginalDigest {
  /** Resolves with the digest; rejects like a read of the original (OriginalChanged, Transient …). */
  readonly sha256: Promise<string>;
  /** Stops the read (the stage ended without needing the digest). */
  cancel(): void;
}

/**
 * Starts hashing the exact original (its version, read once from the start). A failure is held
 * until the digest is awaited, so a stage that fails earlier for another reason reports that one
 * — and cancels the read.
 */
export function digestOriginal(session: MediaSession): OriginalDigest {
  const controller = new AbortController();
  const host = session.context.abortSignal;
  const signal = host === undefined ? controller.signal : AbortSignal.any([host, controller.signal]);
  const sha256 = (async () => {
    const hash = createHash("sha256");
    let bytes = 0;
    const body = await session.deps.blobs.openRead(session.ref, { abortSignal: signal });
    await pipeline(
      body,
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done();
        },
      }),
      { signal },
    );
    const expected = session.input.original.size;
    if (bytes !== expected) throw new CustodyError("OriginalChanged", `Read ${bytes} bytes of ${session.ref.name} but the event announced ${expected}: the original changed.`);
    return hash.digest("hex");
  })();
  sha256.catch(() => undefined);
  return { sha256, cancel: () => controller.abort() };
}

const SIGNING_CONCURRENCY = 4;

export interface CredentialedImage {
  kind: RenditionImageKind;
  /** Local path of the JPEG ffmpeg wrote. */
  file: string;
  /** Rendition name (poster.jpg, thumb-01.jpg, sprite.jpg …). */
  name: string;
  description: string;
  /** The purposes of the runs that may have made it; of those, the runs naming its file (or a `%02d` pattern matching it) are recorded. */
  purposes: string[];
  parameters?: Record<string, string | number>;
}

/** Signs every image in place, then records what was signed, by which key, for which original (provenance). */
export async function signImages(session: MediaSession, credentials: ContentCredentials, digest: OriginalDigest, images: CredentialedImage[]): Promise<void> {
  const started = new Date().toISOString();
  const { original } = session.input;
  const ingredient: OriginalIngredient = {
    name: original.name,
    sha256: await digest.sha256,
    size: original.size,
    etag: original.etag,
    ...(original.versionId === undefined ? {} : { versionId: original.versionId }),
    ...(original.contentType === undefined ? {} : { contentType: original.contentType }),
  };
  const tool = { name: "ffmpeg", version: session.tools().ffmpeg };
  // A few at a time: in Azure each signature is a Key Vault call.
  for (let at = 0; at < images.length; at += SIGNING_CONCURRENCY) {
    await Promise.all(
      images.slice(at, at + SIGNING_CONCURRENCY).map(async (image) => {
        const runs = runsThatWrote(session.runs, image).map((r) => [...r.arguments]);
        const signed = await credentials.signJpeg(await readFile(image.file), {
          title: image.name,
          original: ingredient,
          action: { kind: image.kind, description: image.description, tool, runs, ...(image.parameters === undefined ? {} : { parameters: image.parameters }) },
        });
        await writeFile(image.file, signed);
      }),
    );
  }
  session.record("content-credentials", [`original sha256 ${ingredient.sha256}`, `key ${credentials.keyId}`, ...images.map((i) => i.name)], started);
  session.log.info("content credentials signed", { images: images.length, keyId: credentials.keyId });
}

/** The runs (of the image's purposes) whose outputs name the image's file, directly or as an image2 `%0Nd` pattern; all of them when none does. */
function runsThatWrote(runs: readonly MediaToolRun[], image: CredentialedImage): MediaToolRun[] {
  const candidates = runs.filter((r) => image.purposes.includes(r.purpose));
  const writes = (argument: string) => {
    const base = argument.slice(argument.lastIndexOf("/") + 1);
    if (base === image.name) return true;
    const pattern = /%0(\d)d/.exec(base);
    if (pattern === null) return false;
    const [before, after] = [base.slice(0, pattern.index), base.slice(pattern.index + pattern[0].length)];
    return image.name.startsWith(before) && image.name.endsWith(after) && /^\d+$/.test(image.name.slice(before.length, image.name.length - after.length));
  };
  const writers = candidates.filter((r) => r.arguments.some(writes));
  return writers.length > 0 ? writers : candidates;
}
