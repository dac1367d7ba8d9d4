/**
 * The environment a media process gets: the {@link PASSED_ENVIRONMENT} variables of the host
 * (`PATH`, temp directories, proxies; no connection strings or keys, no `FFREPORT`, whose report
 * file would hold the command line with the read URL's SAS) and `GCONV_PATH` naming a directory
 * that cannot exist (the static ffprobe build segfaults on some MPEG-TS files while loading the
 * host's iconv modules). ffprobe and the `-version` checks are spawned with it; ffmpeg gets it
 * through the launcher script (launcher.ts). Pure.
 */

/** A directory that cannot exist (`/dev/null` is not a directory), for GCONV_PATH. */
const NO_GCONV = "/dev/null/custody-no-gconv";

/** Environment variables a media process may see; everything else (connection strings, keys) is withheld. */
const PASSED_ENVIRONMENT = ["PATH", "LD_LIBRARY_PATH", "TMPDIR", "TMP", "TEMP", "SystemRoot", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"];

export function childEnvironment(source: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of PASSED_ENVIRONMENT) if (source[name] !== undefined) env[name] = source[name];
  env["GCONV_PATH"] = NO_GCONV;
  return env;
}
