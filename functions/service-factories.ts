/**
 * The media tool as the function app uses it. The stores' clients are built from the settings
 * in shared/adapters/factories.ts (also used by the operator CLI); what is app policy stays here.
 */
import { createFfmpegMediaTool, type FfmpegMediaTool } from "../shared/adapters/ffmpeg/media-tool";
import { CustodyError, toCustodyError } from "../shared/errors";
import type { SegmentMediaTool } from "../shared/ports/media-tool";

/**
 * ffmpeg/ffprobe, located and checked (`-version`) on first use rather than when the services
 * start: commands and functions that never touch media (ingest, index, `custody status`) do
 * not depend on the binaries. A failure to start them is a deployment problem that a redeploy
 * fixes, so it is retryable: the message is retried, then dead-lettered for redrive, instead of
 * failing recordings for good. A failed start is not remembered.
 */
export function createMediaTool(create: () => Promise<FfmpegMediaTool> = () => createFfmpegMediaTool()): SegmentMediaTool {
  let tool: Promise<FfmpegMediaTool> | undefined;
  const get = (): Promise<FfmpegMediaTool> => {
    if (tool === undefined) {
      const started = create().catch((error: unknown) => {
        if (tool === started) tool = undefined;
        const failure = toCustodyError(error);
        throw new CustodyError(failure.code, `ffmpeg/ffprobe unavailable: ${failure.message}`, { cause: error, retryable: true });
      });
      tool = started;
    }
    return tool;
  };
  return {
    versions: async () => (await get()).versions(),
    probe: async (input, options) => (await get()).probe(input, options),
    run: async (input, args, options) => (await get()).run(input, args, options),
    joinToStream: async (inputs, args, consume, options) => (await get()).joinToStream(inputs, args, consume, options),
  };
}
