/**
 * The HLS playlist of a joined proxy, written from its fragment index (fmp4-index.ts): the
 * fragmented MP4 that is the download is also the HLS media, addressed by byte range — the
 * initialisation section (ftyp + moov) by EXT-X-MAP, each fragment (moof + mdat) by
 * EXT-X-BYTERANGE — so one file serves both and nothing is stored twice. Fragment durations
 * (EXTINF) come from the timing track's decode times (the video track; the audio track of an
 * audio-only proxy), exactly as the file carries them. Pure.
 *
 * EXT-X-VERSION 7: fMP4 media (EXT-X-MAP in a playlist that is not I-frames only) needs 6, and
 * fMP4 segments are specified from 7 (RFC 8216 §4.3.2.5 and §7).
 */
import { CustodyError } from "../errors";
import type { Fmp4Index } from "./fmp4-index";

export interface HlsPlaylistOptions {
  /** The media file's name, relative to the playlist (both in one folder): `proxy.mp4`. */
  mediaName: string;
}

/** The playlist text (UTF-8, `\n` line ends). */
export function hlsPlaylist(index: Fmp4Index, options: HlsPlaylistOptions): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.mediaName)) throw new CustodyError("Internal", `not a plain media file name: ${JSON.stringify(options.mediaName)}`, { retryable: false });
  const timing = index.tracks.find((t) => t.handler === "vide") ?? index.tracks.find((t) => t.handler === "soun");
  if (timing === undefined) throw new CustodyError("OutputVerificationFailed", "The joined proxy has neither a video nor an audio track: no playlist can be written.");
  if (index.fragments.length === 0) throw new CustodyError("OutputVerificationFailed", "The joined proxy has no fragments: no playlist can be written.");
  const entries = index.fragments.map((fragment) => {
    const run = fragment.tracks.find((t) => t.trackId === timing.id);
    return { fragment, seconds: run === undefined ? 0 : run.duration / timing.timescale };
  });
  const target = Math.max(1, ...entries.map((e) => Math.round(e.seconds)));
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    `#EXT-X-TARGETDURATION:${target}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    `#EXT-X-MAP:URI="${options.mediaName}",BYTERANGE="${index.initSize}@0"`,
  ];
  for (const { fragment, seconds } of entries) {
    lines.push(`#EXTINF:${seconds.toFixed(6)},`, `#EXT-X-BYTERANGE:${fragment.size}@${fragment.offset}`, options.mediaName);
  }
  lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}
