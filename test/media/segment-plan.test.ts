/**
 * The segment planner, the per-segment encode arguments and the join's concat scripts: pure,
 * on synthetic probes and on the probes captured from the real fixtures.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { MediaProbe, MediaStreamInfo } from "../../shared/media/probe";
import { normaliseProbe, type FfprobeOutput } from "../../shared/media/probe-normalise";
import { MAX_SEGMENTS_PER_PLAN } from "../../shared/contracts/messages";
import { DEFAULT_SEGMENT_SECONDS, fragmentedJoinArguments, joinLists, planSegmentEncode, planSegments, seconds, segmentTargetSeconds, type EncodedSegment } from "../../shared/media/segment-plan";
import { joinProblems } from "../../shared/media/verify-join";

function captured(name: string): MediaProbe {
  return normaliseProbe(JSON.parse(readFileSync(path.join(__dirname, "probes", `${name}.json`), "utf8")) as FfprobeOutput);
}

function synthetic(durationInSeconds: number | undefined, video: Partial<MediaStreamInfo> | undefined, audio: Partial<MediaStreamInfo> | undefined): MediaProbe {
  const streams: MediaStreamInfo[] = [];
  if (video) streams.push({ index: streams.length, type: "video", codec: "h264", width: 1920, height: 1080, pixelFormat: "yuv420p", frameRate: 30, durationInSeconds, ...video });
  if (audio) streams.push({ index: streams.length, type: "audio", codec: "aac", sampleRate: 48000, channels: 2, durationInSeconds, ...audio });
  return { container: "mov,mp4,m4a,3gp,3g2,mj2", durationInSeconds, streams, primaryVideoIndex: video ? 0 : undefined, primaryAudioIndex: audio ? (video ? 1 : 0) : undefined, dataTracks: [] };
}

const starts = (probe: MediaProbe, targetSeconds: number) => planSegments(probe, { targetSeconds }).segments.map((s) => s.startInMicroseconds);

describe("planSegments", () => {
  test("with audio, boundaries sit on the AAC frame grid of the proxy's sample rate (60 s ≈ 2813 frames at 48 kHz)", () => {
    const plan = planSegments(synthetic(600, {}, {}), { targetSeconds: 60 });
    expect(plan.segments).toHaveLength(10);
    const length = Math.round((2813 * 1024 * 1e6) / 48000);
    plan.segments.slice(0, -1).forEach((s, k) => {
      expect(s.startInMicroseconds).toBe(Math.round((k * 2813 * 1024 * 1e6) / 48000));
      expect(s.endInMicroseconds).toBe(plan.segments[k + 1].startInMicroseconds);
    });
    expect(plan.segments[1].startInMicroseconds).toBe(length);
    expect(plan.segments.at(-1)?.endInMicroseconds).toBe(600_000_000);
  });

  test("a sample rate AAC does not take is planned at 48 kHz, as the proxy is", () => {
    const plan = planSegments(synthetic(10, undefined, { sampleRate: 37800 }), { targetSeconds: 2 });
    expect(plan.audioSampleRate).toBe(48000);
    expect(plan.segments[1].startInMicroseconds).toBe(Math.round((94 * 1024 * 1e6) / 48000));
  });

  test("video only: plain multiples of the target", () => {
    expect(starts(synthetic(10, {}, undefined), 2.5)).toEqual([0, 2_500_000, 5_000_000, 7_500_000]);
  });

  test("a tail shorter than half a segment joins the one before; a short recording is one segment", () => {
    const plan = planSegments(synthetic(10.9, {}, undefined), { targetSeconds: 2.5 });
    expect(plan.segments.map((s) => [s.startInMicroseconds, s.endInMicroseconds])).toEqual([
      [0, 2_500_000],
      [2_500_000, 5_000_000],
      [5_000_000, 7_500_000],
      [7_500_000, 10_900_000],
    ]);
    expect(starts(synthetic(3.7, {}, undefined), 2.5)).toEqual([0]);
    expect(starts(synthetic(0.2, {}, {}), 60)).toEqual([0]);
  });

  test("the segment length: the configured one, lengthened so that no plan has more than MAX_SEGMENTS_PER_PLAN segments", () => {
    expect(segmentTargetSeconds(600, DEFAULT_SEGMENT_SECONDS)).toBe(60);
    expect(segmentTargetSeconds(undefined, 60)).toBe(60);
    // 10 h at 60 s: 600 segments would be too many.
    expect(segmentTargetSeconds(36_000, 60)).toBeGreaterThan(90);
    // Whatever the rate rounds the length to (down, for 7350 Hz and 44.1 kHz), never one segment too many.
    for (const sampleRate of [7350, 8000, 11025, 44100, 48000, undefined]) {
      for (const duration of [400, 400.5, 1000, 24_000, 36_000.7, 86_400]) {
        for (const configured of [1, 10, 60]) {
          const probe = synthetic(duration, {}, sampleRate === undefined ? undefined : { sampleRate });
          const plan = planSegments(probe, { targetSeconds: segmentTargetSeconds(duration, configured) });
          expect(plan.segments.length).toBeLessThanOrEqual(MAX_SEGMENTS_PER_PLAN);
        }
      }
    }
  });

  test("unknown duration: one open-ended segment", () => {
    expect(planSegments(synthetic(undefined, {}, {}), { targetSeconds: 60 }).segments).toEqual([{ index: 0, startInMicroseconds: 0 }]);
  });

  test("refuses a non-positive target and a recording without audio or video", () => {
    expect(() => planSegments(synthetic(10, {}, {}), { targetSeconds: 0 })).toThrow(expect.objectContaining({ code: "InvalidConfiguration" }));
    expect(() => planSegments(synthetic(10, undefined, undefined), { targetSeconds: 60 })).toThrow(expect.objectContaining({ code: "UnsupportedMedia" }));
  });

  test("captured fixtures: audio-only M4A and the rotated phone clip split with short targets", () => {
    expect(planSegments(captured("ft_aac_audio_only.m4a"), { targetSeconds: 0.3 })).toMatchObject({ kind: "audio", audioSampleRate: 48000 });
    expect(starts(captured("ft_aac_audio_only.m4a"), 0.3).length).toBeGreaterThanOrEqual(2);
    expect(planSegments(captured("exo_phone_hevc_mett_track_rot90.mp4"), { targetSeconds: 0.04 })).toMatchObject({ kind: "video", videoIndex: 2, audioIndex: 1 });
  });
});

describe("planSegmentEncode", () => {
  const probe = synthetic(20, {}, {});
  const plan = planSegments(probe, { targetSeconds: 4 });
  const out = { maxSide: 1280, videoOutputPath: "/w/v.mp4", audioOutputPath: "/w/a.mp4" };

  test("reads from two AAC frames before the start to two after the end; the video is trimmed to [start, end)", () => {
    const encode = planSegmentEncode(probe, plan, plan.segments[1], out);
    expect(encode.seek).toEqual({ startInSeconds: 3.968, durationInSeconds: 4.096 }); // 0.042667 + 4.010666 + 0.042667
    expect(encode.audioPreRollInSeconds).toBe(0.042667);
    const vf = encode.arguments[encode.arguments.indexOf("-vf") + 1];
    expect(vf.startsWith("trim=start=0.042667:end=4.053333,setpts=PTS-0.042667/TB,scale=")).toBe(true);
    expect(vf).toContain("format=yuv420p");
    expect(encode.arguments).toEqual(expect.arrayContaining(["-vsync", "vfr", "-c:v", "libx264", "-c:a", "aac", "/w/v.mp4", "/w/a.mp4"]));
    expect(encode.arguments.slice(encode.arguments.indexOf("/w/v.mp4"))).toContain("-t");
  });

  test("the first segment has no pre-roll", () => {
    const encode = planSegmentEncode(probe, plan, plan.segments[0], out);
    expect(encode.seek.startInSeconds).toBe(0);
    expect(encode.audioPreRollInSeconds).toBe(0);
  });

  test("audio only: one output, no video arguments", () => {
    const audioOnly = synthetic(20, undefined, {});
    const encode = planSegmentEncode(audioOnly, planSegments(audioOnly, { targetSeconds: 4 }), planSegments(audioOnly, { targetSeconds: 4 }).segments[1], out);
    expect(encode.arguments).not.toContain("/w/v.mp4");
    expect(encode.arguments).not.toContain("-vf");
  });
});

describe("join", () => {
  const probe = synthetic(12, {}, {});
  const plan = planSegments(probe, { targetSeconds: 4 });
  const segments: EncodedSegment[] = plan.segments.map((s) => ({
    index: s.index,
    videoFile: `v${s.index}.mp4`,
    audioFile: `a${s.index}.mp4`,
    audioPreRollInSeconds: s.index === 0 ? 0 : 0.042667,
    lengthInSeconds: 4.010667,
  }));

  test("concat scripts: video back to back; audio cut to each segment's range, the last kept whole", () => {
    const lists = joinLists(plan, [...segments].reverse());
    expect(lists.video).toBe("ffconcat version 1.0\nfile 'v0.mp4'\ninpoint 0.000000\nduration 4.010667\nfile 'v1.mp4'\ninpoint 0.000000\nduration 4.010667\nfile 'v2.mp4'\ninpoint 0.000000\n");
    expect(lists.audio).toBe(
      "ffconcat version 1.0\n" +
        "file 'a0.mp4'\noutpoint 4.000000\nduration 4.010667\n" +
        "file 'a1.mp4'\ninpoint 0.042667\noutpoint 4.042667\nduration 4.010667\n" +
        "file 'a2.mp4'\ninpoint 0.042667\n",
    );
  });

  test("a missing segment or an unsafe name is refused (never a partial proxy)", () => {
    expect(() => joinLists(plan, segments.slice(0, 2))).toThrow(/segment\(s\) 2 missing of 3/);
    expect(() => joinLists(plan, [{ ...segments[0], videoFile: "../x.mp4" }, ...segments.slice(1)])).toThrow(/not a plain file name/);
  });

  test("scripts over read URLs: the URLs quoted as they are; anything ffconcat would have to unquote is refused", () => {
    const url = (name: string) => `https://acct.blob.core.windows.net/derived/ev-1/transcode/segments/${name}?sv=2024&se=x%3A1&sp=r&sig=a%2Fb%3D`;
    const remote = segments.map((s) => ({ ...s, videoFile: url(`${s.index}.video.mp4`), audioFile: url(`${s.index}.audio.mp4`) }));
    const lists = joinLists(plan, remote, { names: "url" });
    expect(lists.video).toContain(`file '${url("1.video.mp4")}'\ninpoint 0.000000\nduration 4.010667\n`);
    for (const bad of ["file:///etc/hostname", "https://a/b'c", "https://a/b c", "https://a/b\\c"]) {
      expect(() => joinLists(plan, [{ ...remote[0], videoFile: bad }, ...remote.slice(1)], { names: "url" })).toThrow(/must be http\(s\)/);
    }
    expect(() => joinLists(plan, remote)).toThrow(/not a plain file name/);
  });

  test("one fragmented MP4: moov first, fragments at keyframes (video) or of a fixed length (audio-only), offsets from each moof", () => {
    expect(fragmentedJoinArguments(plan, { fragmentSeconds: 4 }).join(" ")).toBe(
      "-map 0:v:0 -map 1:a:0 -c copy -map_metadata -1 -movflags empty_moov+default_base_moof+frag_keyframe -min_frag_duration 4000000 -f mp4",
    );
    const audioOnly = planSegments(synthetic(12, undefined, {}), { targetSeconds: 4 });
    expect(fragmentedJoinArguments(audioOnly, { fragmentSeconds: 4 }).join(" ")).toBe("-map 0:a:0 -c copy -map_metadata -1 -movflags empty_moov+default_base_moof -frag_duration 4000000 -f mp4");
    expect(() => fragmentedJoinArguments(plan, { fragmentSeconds: 0 })).toThrow(/invalid fragment length/);
  });

  test("seconds() always writes a leading digit and six decimals", () => {
    expect(seconds(42667)).toBe("0.042667");
    expect(seconds(20_000_000)).toBe("20.000000");
  });

  test("verification: a lost frame, a short audio or drift are problems", () => {
    const output = synthetic(12, { width: 1280, height: 720, frames: 359 }, { durationInSeconds: 11.9 });
    const problems = joinProblems(output, plan, { hasVideo: true, hasAudio: true, durationInSeconds: 12, maxSide: 1280, segmentFrames: 360, frameRate: 30 });
    expect(problems).toEqual([
      "the joined audio lasts 11.900000 s, the source's 12.000000 s (more than one frame, 0.033333 s, apart)",
      "audio and video drift 0.100000 s apart by the end (more than one frame)",
      "the joined video has 359 frames, the segments 360",
    ]);
  });
});
