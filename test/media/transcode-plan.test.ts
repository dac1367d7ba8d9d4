/**
 * MediaProbe → proxy arguments, pure: on the probes captured from the real fixtures and on
 * synthetic probes for HDR, 10-bit SDR, odd sizes, many channels and odd sample rates.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { normaliseProbe, type FfprobeOutput } from "../../shared/media/probe-normalise";
import { cappedSize, capFilter, displaySize, planTranscode, sdrFilters, sourceDuration } from "../../shared/media/transcode-plan";
import type { MediaProbe, MediaStreamInfo } from "../../shared/media/probe";

function captured(name: string): MediaProbe {
  return normaliseProbe(JSON.parse(readFileSync(path.join(__dirname, "probes", `${name}.json`), "utf8")) as FfprobeOutput);
}

function synthetic(video: Partial<MediaStreamInfo> | undefined, audio: Partial<MediaStreamInfo> | undefined, extra: Partial<MediaProbe> = {}): MediaProbe {
  const streams: MediaStreamInfo[] = [];
  if (video) streams.push({ index: streams.length, type: "video", codec: "hevc", width: 1920, height: 1080, pixelFormat: "yuv420p", bitDepth: 8, durationInSeconds: 10, ...video });
  if (audio) streams.push({ index: streams.length, type: "audio", codec: "aac", sampleRate: 48000, channels: 2, durationInSeconds: 10, ...audio });
  return {
    container: "mov,mp4,m4a,3gp,3g2,mj2",
    durationInSeconds: 10,
    streams,
    primaryVideoIndex: video ? 0 : undefined,
    primaryAudioIndex: audio ? (video ? 1 : 0) : undefined,
    dataTracks: [],
    ...extra,
  };
}

const OUT = "/tmp/x/proxy.out";
const plan = (probe: MediaProbe, maxSide = 1280) => planTranscode(probe, { maxSide, outputPath: OUT });

/** The value after `flag` (first occurrence), or every value of a repeated flag. */
function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}
function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
}

describe("real fixtures", () => {
  test("rotated phone clip: the real video stream (index 2) and audio (1) mapped explicitly, the mett track not, no extra rotation", () => {
    const p = plan(captured("exo_phone_hevc_mett_track_rot90.mp4"));
    expect(p).toMatchObject({ kind: "video", fileName: "proxy.mp4", renditionKind: "proxy", contentType: "video/mp4", videoIndex: 2, audioIndex: 1, toneMapped: false });
    expect(valuesOf(p.arguments, "-map")).toEqual(["0:2", "0:1"]);
    expect(p.arguments).toEqual(expect.arrayContaining(["-dn", "-sn", "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-pix_fmt", "yuv420p"]));
    expect(p.arguments.join(" ")).not.toMatch(/transpose|rotate|hflip|vflip/);
    // 1920×1080 shown rotated a quarter turn: 1080×1920 → capped to 720×1280, portrait.
    expect(p.expected).toMatchObject({ hasVideo: true, hasAudio: true, width: 720, height: 1280, maxSide: 1280 });
    expect(p.expected.durationInSeconds).toBeCloseTo(0.100067, 5);
    expect(valueOf(p.arguments, "-metadata")).toBe("creation_time=2023-04-28T17:52:17.000Z");
    expect(p.arguments.at(-1)).toBe(OUT);
  });

  test("GoPro with GPMF/tmcd tracks: only picture and sound are mapped", () => {
    const probe = captured("gopro_max_heromode_gpmf.mp4");
    const p = plan(probe);
    expect(probe.dataTracks.length).toBeGreaterThan(0);
    for (const spec of valuesOf(p.arguments, "-map")) {
      const index = Number(spec.slice(2));
      expect(["video", "audio"]).toContain(probe.streams.find((s) => s.index === index)?.type);
    }
  });

  test("audio-only m4a → AAC audio proxy, no video options", () => {
    const p = plan(captured("ft_aac_audio_only.m4a"));
    expect(p).toMatchObject({ kind: "audio", fileName: "proxy.m4a", renditionKind: "audio-proxy", contentType: "audio/mp4" });
    expect(valuesOf(p.arguments, "-map")).toEqual(["0:0"]);
    expect(p.arguments).toContain("-vn");
    expect(p.arguments).not.toContain("-vf");
    expect(p.expected).toMatchObject({ hasVideo: false, hasAudio: true });
  });
});

describe("synthetic probes", () => {
  test("PQ 10-bit → zscale/tonemap to BT.709 8-bit; HLG names its own transfer", () => {
    const pq = plan(synthetic({ pixelFormat: "yuv420p10le", bitDepth: 10, colorTransfer: "smpte2084", hdr: true }, {}));
    expect(pq.toneMapped).toBe(true);
    const vf = valueOf(pq.arguments, "-vf")!;
    expect(vf).toMatch(/zscale=tin=smpte2084:min=bt2020nc:pin=bt2020.*tonemap=tonemap=hable.*zscale=t=bt709:m=bt709:r=tv,format=yuv420p$/);
    expect(pq.arguments).toEqual(expect.arrayContaining(["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]));
    const hlg = plan(synthetic({ bitDepth: 10, colorTransfer: "arib-std-b67" }, {}));
    expect(valueOf(hlg.arguments, "-vf")).toMatch(/tin=arib-std-b67/);
  });

  test("10-bit SDR → format conversion only, no tone-mapping", () => {
    const p = plan(synthetic({ pixelFormat: "yuv420p10le", bitDepth: 10, colorTransfer: "bt709" }, undefined));
    expect(p.toneMapped).toBe(false);
    expect(valueOf(p.arguments, "-vf")).toBe(`${capFilter(1280)},setsar=1,format=yuv420p`);
    expect(p.arguments).toContain("-an");
    expect(p.expected).toMatchObject({ hasVideo: true, hasAudio: false });
  });

  test("the real video stream, not the first one: cover art and empty streams are skipped by the probe's choice", () => {
    const probe = synthetic({}, {});
    probe.streams.unshift({ index: 5, type: "video", codec: "mjpeg", isAttachedPicture: true, width: 600, height: 600 });
    const p = plan(probe);
    expect(valuesOf(p.arguments, "-map")).toEqual(["0:0", "0:1"]);
  });

  test("surround sound is downmixed to stereo; a sample rate AAC cannot encode is resampled", () => {
    const p = plan(synthetic({}, { channels: 6, sampleRate: 192000 }));
    expect(valueOf(p.arguments, "-ac")).toBe("2");
    expect(valueOf(p.arguments, "-ar")).toBe("48000");
    const stereo = plan(synthetic({}, { channels: 2, sampleRate: 44100 }));
    expect(stereo.arguments).not.toContain("-ac");
    expect(stereo.arguments).not.toContain("-ar");
  });

  test("no audio and no video → UnsupportedMedia naming what the file holds", () => {
    const probe: MediaProbe = { container: "mov,mp4,m4a,3gp,3g2,mj2", streams: [{ index: 0, type: "data", codecTag: "tmcd" }], dataTracks: ["tmcd"] };
    expect(() => plan(probe)).toThrow(expect.objectContaining({ code: "UnsupportedMedia", retryable: false, message: expect.stringMatching(/#0 data \(tmcd\)/) }));
  });

  test("creation times from unset camera clocks are not carried", () => {
    expect(plan(synthetic({}, {}, { creationTime: "1970-01-01T00:00:00Z" })).arguments).not.toContain("-metadata");
    expect(plan(synthetic({}, {}, { creationTime: "not a date" })).arguments).not.toContain("-metadata");
  });

  test("an odd max side is refused", () => {
    expect(() => plan(synthetic({}, {}), 1279)).toThrow(expect.objectContaining({ code: "InvalidConfiguration" }));
  });
});

describe("sizes, durations and limits", () => {
  test("capped size: longest side capped, never upscaled, even, at least 2", () => {
    expect(cappedSize(1920, 1080, 1280)).toEqual({ width: 1280, height: 720 });
    expect(cappedSize(1080, 1920, 1280)).toEqual({ width: 720, height: 1280 });
    expect(cappedSize(640, 360, 1280)).toEqual({ width: 640, height: 360 });
    expect(cappedSize(321, 241, 1280)).toEqual({ width: 320, height: 240 });
    expect(cappedSize(4000, 1, 1280)).toEqual({ width: 1280, height: 2 });
  });

  test("display size swaps for quarter turns only", () => {
    expect(displaySize({ index: 0, type: "video", width: 1920, height: 1080, rotation: 90 })).toEqual({ width: 1080, height: 1920 });
    expect(displaySize({ index: 0, type: "video", width: 1920, height: 1080, rotation: 180 })).toEqual({ width: 1920, height: 1080 });
    expect(displaySize({ index: 0, type: "video" })).toBeUndefined();
  });

  test("source duration: the longest mapped stream, else the container's", () => {
    const probe = synthetic({ durationInSeconds: 9 }, { durationInSeconds: 9.5 }, { durationInSeconds: 60 });
    expect(sourceDuration(probe, probe.streams)).toBe(9.5);
    expect(sourceDuration(probe, [{ index: 0, type: "video" }])).toBe(60);
  });

  test("8-bit SDR needs only the format filter", () => {
    expect(sdrFilters({ index: 0, type: "video", bitDepth: 8 })).toEqual(["format=yuv420p"]);
  });
});
