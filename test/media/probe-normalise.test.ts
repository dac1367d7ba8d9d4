/**
 * ffprobe JSON → MediaProbe, on output captured from the real fixtures
 * (`ffprobe -show_format -show_streams -show_entries stream_side_data_list -of json`, the
 * 2023 static build of @ffprobe-installer/ffprobe; identical to what the adapter runs, which
 * omits the redundant -show_entries) plus small synthetic cases for what the fixtures lack.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { bitDepthOfPixelFormat, normaliseProbe, rotation, type FfprobeOutput, type FfprobeStream } from "../../shared/media/probe-normalise";

function captured(name: string): FfprobeOutput {
  return JSON.parse(readFileSync(path.join(__dirname, "probes", `${name}.json`), "utf8")) as FfprobeOutput;
}

const MOV = "mov,mp4,m4a,3gp,3g2,mj2";

describe("captured fixtures", () => {
  test("phone HEVC clip: −90° display matrix → 90 (clockwise), mett data track, location", () => {
    const probe = normaliseProbe(captured("exo_phone_hevc_mett_track_rot90.mp4"));
    expect(probe).toMatchObject({
      container: MOV,
      durationInSeconds: 0.100067,
      primaryVideoIndex: 2,
      primaryAudioIndex: 1,
      dataTracks: ["mett"],
      creationTime: "2023-04-28T17:52:17.000000Z",
      location: "+51.5932-0.2431/",
    });
    expect(probe.device).toBeUndefined();
    expect(probe.streams.map((s) => s.type)).toEqual(["data", "audio", "video"]);
    expect(probe.streams[2]).toMatchObject({
      codec: "hevc",
      codecTag: "hvc1",
      width: 1920,
      height: 1080,
      rotation: 90,
      pixelFormat: "yuvj420p",
      bitDepth: 8,
      colorTransfer: "smpte170m",
      frames: 3,
      isDefault: true,
    });
    expect(probe.streams[2].frameRate).toBeCloseTo(29.98, 2);
    expect(probe.streams[2].hdr).toBeUndefined();
    expect(probe.streams[1]).toMatchObject({ codec: "aac", sampleRate: 48000, channels: 2 });
    expect(probe.streams[0]).toMatchObject({ codecTag: "mett", handlerName: "MetaHandle", frames: 3 });
  });

  test("GoPro MAX: tmcd, GPMF (gpmd) and fdsc data tracks; maker from the handler names", () => {
    const probe = normaliseProbe(captured("gopro_max_heromode_gpmf.mp4"));
    expect(probe).toMatchObject({
      container: MOV,
      durationInSeconds: 10.543,
      primaryVideoIndex: 0,
      primaryAudioIndex: 1,
      dataTracks: ["tmcd", "gpmd", "fdsc"],
      creationTime: "2019-11-18T15:45:32.000000Z",
      device: { make: "GoPro" },
      location: "+33.1268-117.3273/",
    });
    expect(probe.streams[0]).toMatchObject({ codec: "h264", width: 848, height: 480, bitDepth: 8, frames: 315, handlerName: "GoPro AVC" });
    expect(probe.streams[0].rotation).toBeUndefined();
    expect(probe.streams[3]).toMatchObject({ type: "data", codecTag: "gpmd", handlerName: "GoPro MET" });
  });

  test("fragmented MP4: no frame counts stated, still the primary video", () => {
    const probe = normaliseProbe(captured("exo_fragmented_fmp4.mp4"));
    expect(probe).toMatchObject({ container: MOV, primaryVideoIndex: 0, primaryAudioIndex: 1, dataTracks: [], creationTime: "2016-05-31T17:01:35.000000Z" });
    expect(probe.streams[0]).toMatchObject({ codec: "h264", width: 1080, height: 720, bitDepth: 8 });
    expect(probe.streams[0].frames).toBeUndefined();
    expect(probe.streams[1]).toMatchObject({ codec: "aac", sampleRate: 44100, channels: 1 });
    expect(probe.device).toBeUndefined();
  });

  test("HEVC in MPEG-TS: video only", () => {
    const probe = normaliseProbe(captured("exo_mpegts_hevc.ts"));
    expect(probe).toMatchObject({ container: "mpegts", durationInSeconds: 1, primaryVideoIndex: 0, dataTracks: [] });
    expect(probe.primaryAudioIndex).toBeUndefined();
    expect(probe.streams[0]).toMatchObject({ codec: "hevc", width: 854, height: 480, frameRate: 30, bitDepth: 8 });
  });

  test("AAC audio only: no primary video", () => {
    const probe = normaliseProbe(captured("ft_aac_audio_only.m4a"));
    expect(probe.primaryVideoIndex).toBeUndefined();
    expect(probe).toMatchObject({ primaryAudioIndex: 0, dataTracks: [], durationInSeconds: 0.810667 });
    expect(probe.streams).toEqual([expect.objectContaining({ type: "audio", codec: "aac", sampleRate: 48000, channels: 2, frames: 38, handlerName: "Core Media Audio" })]);
  });
});

function video(index: number, extra: Partial<FfprobeStream> = {}): FfprobeStream {
  return { index, codec_type: "video", codec_name: "h264", width: 1280, height: 720, pix_fmt: "yuv420p", avg_frame_rate: "30/1", ...extra };
}

describe("primary streams", () => {
  test("cover art and empty streams are never the video", () => {
    const probe = normaliseProbe({
      streams: [
        video(0, { codec_name: "mjpeg", width: 3000, height: 3000, disposition: { default: 1, attached_pic: 1 } }),
        video(1, { width: 1920, height: 1080, nb_frames: "0", disposition: { default: 1 } }), // the WMV case
        video(2, { width: 640, height: 480, nb_frames: "300" }),
      ],
    });
    expect(probe.primaryVideoIndex).toBe(2);
    expect(probe.streams[0].isAttachedPicture).toBe(true);
    expect(probe.streams[1].frames).toBe(0);
  });

  test("default disposition first, then the largest picture, then the lowest index", () => {
    expect(normaliseProbe({ streams: [video(0, { width: 640, height: 360 }), video(1, { width: 320, height: 180, disposition: { default: 1 } })] }).primaryVideoIndex).toBe(1);
    expect(normaliseProbe({ streams: [video(0, { width: 640, height: 360 }), video(1, { width: 1920, height: 1080 })] }).primaryVideoIndex).toBe(1);
    expect(normaliseProbe({ streams: [video(0), video(1)] }).primaryVideoIndex).toBe(0);
    expect(normaliseProbe({ streams: [video(0, { disposition: { attached_pic: 1 } })] }).primaryVideoIndex).toBeUndefined();
  });

  test("audio with a 0 Hz sample rate or no frames is skipped; more channels preferred", () => {
    const probe = normaliseProbe({
      streams: [
        { index: 0, codec_type: "audio", codec_name: "ac3", sample_rate: "0", channels: 6 },
        { index: 1, codec_type: "audio", codec_name: "aac", sample_rate: "48000", channels: 1 },
        { index: 2, codec_type: "audio", codec_name: "aac", sample_rate: "48000", channels: 2 },
        { index: 3, codec_type: "audio", codec_name: "aac", sample_rate: "48000", channels: 8, nb_frames: "0" },
      ],
    });
    expect(probe.primaryAudioIndex).toBe(2);
  });
});

describe("rotation (clockwise degrees to display upright)", () => {
  const matrix = (value: number | string) => ({ side_data_list: [{ side_data_type: "Display Matrix", rotation: value }] });
  test.each([
    [matrix(-90), 90],
    [matrix(90), 270],
    [matrix(180), 180],
    [matrix(-180), 180],
    [matrix(0), 0],
    [matrix(-89.99), 90],
    [{ tags: { rotate: "90" } }, 90],
    [{ tags: { rotate: "270" } }, 270],
    [{ tags: { rotate: "-90" } }, 270],
    [{ tags: { rotate: "360" } }, 0],
    [{ tags: { rotate: "sideways" } }, undefined],
    [{}, undefined],
  ] as Array<[Pick<FfprobeStream, "side_data_list" | "tags">, number | undefined]>)("%j → %s", (stream, expected) => {
    expect(rotation(stream)).toBe(expected);
  });

  test("the display matrix wins over a stale rotate tag", () => {
    expect(rotation({ ...matrix(-90), tags: { rotate: "180" } })).toBe(90);
  });
});

describe("bit depth and HDR", () => {
  test.each([
    ["yuv420p", 8],
    ["yuvj420p", 8],
    ["yuv422p", 8],
    ["nv12", 8],
    ["rgb24", 8],
    ["yuv420p10le", 10],
    ["yuv422p10be", 10],
    ["yuv444p12le", 12],
    ["gbrp10le", 10],
    ["gray16be", 16],
    ["p010le", 10],
    ["p016le", 16],
    ["rgb48le", 16],
    ["something", undefined],
  ] as Array<[string, number | undefined]>)("%s → %s", (pixelFormat, bits) => {
    expect(bitDepthOfPixelFormat(pixelFormat)).toBe(bits);
  });

  test("PQ and HLG transfers and HDR side data mark HDR; bits_per_raw_sample is the fallback", () => {
    const probe = normaliseProbe({
      streams: [
        video(0, { codec_name: "hevc", pix_fmt: "yuv420p10le", color_transfer: "smpte2084", color_primaries: "bt2020" }),
        video(1, { codec_name: "hevc", pix_fmt: "yuv420p10le", color_transfer: "arib-std-b67" }),
        video(2, { codec_name: "hevc", pix_fmt: "weird", bits_per_raw_sample: "10", side_data_list: [{ side_data_type: "DOVI configuration record" }] }),
        video(3, { color_transfer: "bt709" }),
        video(4, { color_transfer: "unknown" }),
      ],
    });
    expect(probe.streams.map((s) => [s.bitDepth, s.hdr ?? false])).toEqual([
      [10, true],
      [10, true],
      [10, true],
      [8, false],
      [8, false],
    ]);
    expect(probe.streams[0]).toMatchObject({ colorTransfer: "smpte2084", colorPrimaries: "bt2020" });
    expect(probe.streams[4].colorTransfer).toBeUndefined();
  });
});

describe("tags", () => {
  test("Apple make, model, ISO 6709 location and creation date", () => {
    const probe = normaliseProbe({
      format: {
        format_name: MOV,
        tags: {
          "com.apple.quicktime.make": "Apple",
          "com.apple.quicktime.model": "iPhone 15 Pro",
          "com.apple.quicktime.location.ISO6709": "+51.5007-000.1246+012.000/",
          "com.apple.quicktime.creationdate": "2024-03-01T10:00:00+0000",
        },
      },
      streams: [video(0, { tags: { creation_time: "2024-03-01T10:00:01.000000Z" } }), { index: 1, codec_type: "data", codec_tag_string: "mebx", tags: { handler_name: "Core Media Metadata" } }],
    });
    expect(probe).toMatchObject({
      device: { make: "Apple", model: "iPhone 15 Pro" },
      location: "+51.5007-000.1246+012.000/",
      creationTime: "2024-03-01T10:00:00+0000",
      dataTracks: ["mebx"],
    });
  });

  test("Matroska's upper-case tags; stream creation time as a fallback; empty codec tags fall back to the handler name", () => {
    const probe = normaliseProbe({
      format: { format_name: "matroska,webm", duration: "12.5", size: "1000", bit_rate: "640", tags: { ENCODER: "Lavf60", MAKE: "Axon", MODEL: "Body 4" } },
      streams: [
        video(0, { tags: { CREATION_TIME: "2024-01-01T00:00:00Z" } }),
        { index: 1, codec_type: "data", codec_tag_string: "[0][0][0][0]", tags: { HANDLER_NAME: "\u000bTimeCodeHandler  " } },
        { index: 2, codec_type: "data", codec_tag_string: "[0][0][0][0]", codec_name: "bin_data" },
        { index: 3, codec_type: "data", codec_tag_string: "[0][0][0][0]" },
      ],
    });
    expect(probe).toMatchObject({
      container: "matroska,webm",
      durationInSeconds: 12.5,
      sizeInBytes: 1000,
      bitRate: 640,
      device: { make: "Axon", model: "Body 4" },
      creationTime: "2024-01-01T00:00:00Z",
      dataTracks: ["TimeCodeHandler", "bin_data"],
    });
    expect(probe.streams[1].codecTag).toBeUndefined();
  });

  test("nothing at all", () => {
    expect(normaliseProbe({})).toEqual({ container: "unknown", streams: [], dataTracks: [] });
  });
});
