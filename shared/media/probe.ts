/**
 * What ffprobe found in a recording, in the domain's words: container, streams, the primary
 * video and audio, data/telemetry tracks, capture tags. A domain type (the contracts carry it
 * in stage results, the media planners read it); the media tool port returns it.
 */
export type MediaStreamType = "video" | "audio" | "data" | "subtitle" | "attachment" | "unknown";

export interface MediaStreamInfo {
  index: number;
  type: MediaStreamType;
  codec?: string;
  /** e.g. `gpmd`, `tmcd`, `mebx`, `mett` for data/telemetry tracks. */
  codecTag?: string;
  handlerName?: string;
  width?: number;
  height?: number;
  /** Frames per second (average), when known. */
  frameRate?: number;
  /** Display rotation in degrees, normalised to 0/90/180/270 (from the display matrix or the rotate tag). */
  rotation?: number;
  pixelFormat?: string;
  bitDepth?: number;
  colorTransfer?: string;
  colorPrimaries?: string;
  /** True for PQ (smpte2084) or HLG (arib-std-b67) transfer. */
  hdr?: boolean;
  sampleRate?: number;
  channels?: number;
  durationInSeconds?: number;
  /** Frame/packet count when the container states it (an "empty" stream has 0). */
  frames?: number;
  isDefault?: boolean;
  isAttachedPicture?: boolean;
}

export interface MediaProbe {
  /** ffprobe's format_name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  container: string;
  durationInSeconds?: number;
  sizeInBytes?: number;
  bitRate?: number;
  streams: MediaStreamInfo[];
  /** Index of the stream to use as the video (the real one: not cover art, not empty). */
  primaryVideoIndex?: number;
  primaryAudioIndex?: number;
  /** Data/telemetry tracks present (codec tags or handler names), recorded, never mapped into outputs. */
  dataTracks: string[];
  /** From container/stream tags where present. */
  creationTime?: string;
  device?: { make?: string; model?: string };
  /** ISO 6709 location string as the container stores it. */
  location?: string;
}
