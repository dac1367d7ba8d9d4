/**
 * The streamed join's command line and the check of its concat scripts (pure): only read URLs
 * and timing lines get through, `file` is allowed only for the scripts themselves, and the
 * output goes to the adapter's local socket.
 */
import { checkRemoteConcatScript, STREAM_JOIN_PROTOCOLS, streamJoinArguments } from "../../shared/adapters/ffmpeg/arguments";

describe("the concat scripts of a join over read URLs", () => {
  test("the header, read URLs and timing lines are accepted", () => {
    expect(() =>
      checkRemoteConcatScript(
        "ffconcat version 1.0\nfile 'https://a.blob.core.windows.net/derived/x/0.video.mp4?sv=1&sig=a%2F'\ninpoint 0.000000\noutpoint 4.000000\nduration 4.010667\nfile 'http://127.0.0.1:1/x'\n",
      ),
    ).not.toThrow();
  });

  test.each([
    ["a local file", "file '/etc/hostname'"],
    ["a file URL", "file 'file:///etc/hostname'"],
    ["another protocol", "file 'subfile,,start,0,end,1,,:https://a/b'"],
    ["an unquoted name", "file https://a/b"],
    ["a directive the join never writes", "option protocol_whitelist file"],
    ["a stream directive", "stream"],
  ])("%s is refused", (_, line) => {
    expect(() => checkRemoteConcatScript(`ffconcat version 1.0\n${line}\n`)).toThrow(/line 2 of a concat script of read URLs/);
  });

  test("a script without the header is refused", () => {
    expect(() => checkRemoteConcatScript("file 'https://a/b'\n")).toThrow(/must start with/);
  });
});

describe("the streamed join's command line", () => {
  test("each script with the narrow allow-lists, -safe 0, -xerror once, the socket as the only output", () => {
    const command = streamJoinArguments(
      [
        { kind: "concat-urls", path: "/w/video.ffconcat" },
        { kind: "concat-urls", path: "/w/audio.ffconcat" },
      ],
      ["-c", "copy", "-f", "mp4"],
      "unix:/w/out.sock",
    );
    expect(command.arguments.join(" ")).toBe(
      "-hide_banner -nostdin -y -loglevel level+info -nostats -xerror " +
        `-protocol_whitelist ${STREAM_JOIN_PROTOCOLS} -format_whitelist concat,mov,mp4,m4a,3gp,3g2,mj2 -f concat -safe 0 -i file:/w/video.ffconcat ` +
        `-protocol_whitelist ${STREAM_JOIN_PROTOCOLS} -format_whitelist concat,mov,mp4,m4a,3gp,3g2,mj2 -f concat -safe 0 -i file:/w/audio.ffconcat ` +
        "-c copy -f mp4 unix:/w/out.sock -progress pipe:1",
    );
    expect(STREAM_JOIN_PROTOCOLS).toBe("file,http,https,tcp,tls");
  });

  test("an output other than the local socket, or a local script input, is refused", () => {
    expect(() => streamJoinArguments([{ kind: "concat-urls", path: "/w/v.ffconcat" }], ["-f", "mp4"], "/tmp/out.mp4")).toThrow(/only to its local socket/);
    expect(() => streamJoinArguments([], ["-f", "mp4"], "unix:/w/s")).toThrow(/at least one/);
  });
});
