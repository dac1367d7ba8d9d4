/**
 * How the deployment packages get their media tools: azure.yaml's packaging hooks and the media
 * app's settings, read statically (as templates.test.ts reads the rest) and each rule shown to
 * fail on a mutated copy.
 */
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { declarations, mutate, propertyPath, readDeploymentFiles, REPO_ROOT, type Files } from "./bicep";

const { PIN_FILE } = require("../../scripts/media-tools.js") as { PIN_FILE: string };

type Hook = { run?: string; shell?: string };
type Service = { project?: string; hooks?: Record<string, Hook & { posix?: Hook; windows?: Hook }> };

/** The command a service's hook runs on each platform (posix, windows), or a problem. */
function hookCommands(service: Service | undefined, event: string): { posix?: string; windows?: string } {
  const hook = service?.hooks?.[event];
  return { posix: hook?.posix?.run ?? hook?.run, windows: hook?.windows?.run ?? hook?.run };
}

/** Media tools: the media service fetches the pinned build, the core service carries none, and the media app runs what the hook installs. */
export function checkMediaTools(files: Files): string[] {
  const problems: string[] = [];
  const doc = parseYaml(files.get("azure.yaml") ?? "") as { services?: Record<string, Service> };
  const media = doc.services?.["custody-media"];
  const core = doc.services?.custody;
  for (const [platform, command] of Object.entries(hookCommands(media, "prepackage"))) {
    if (command?.trim() !== "node ../scripts/media-tools.js fetch") problems.push(`custody-media's prepackage hook (${platform}) does not fetch the pinned media tools: ${JSON.stringify(command)}`);
  }
  for (const [platform, command] of Object.entries(hookCommands(core, "prepackage"))) {
    if (command?.trim() !== "node ../scripts/media-tools.js clean")
      problems.push(`custody's prepackage hook (${platform}) does not remove media tools from the core package: ${JSON.stringify(command)}`);
  }
  // The hooks run in the service folder: `../scripts` must be the repository's scripts/.
  if (media?.project !== "./app" || core?.project !== "./app") problems.push("the hooks' ../scripts/ path assumes both services deploy ./app");

  const bicep = files.get("bicep/modules/functions.bicep") ?? "";
  const settings = (symbol: string) => declarations("bicep/modules/functions.bicep", bicep).find((d) => d.symbol === symbol);
  const mediaSettings = settings("mediaAppSettings");
  const coreSettings = settings("appSettings");
  if (!mediaSettings || !coreSettings) return [...problems, "functions.bicep: the apps' appsettings resources are missing"];
  // Where scripts/media-tools.js installs the binaries, relative to app/.
  for (const [setting, binary] of [
    ["FFMPEG_PATH", "ffmpeg"],
    ["FFPROBE_PATH", "ffprobe"],
  ]) {
    const value = propertyPath(mediaSettings.body, `properties.${setting}`);
    if (value !== `'tools/ffmpeg/${binary}'`) problems.push(`the media app's ${setting} is ${value ?? "unset"}, not 'tools/ffmpeg/${binary}' (where the packaging hook puts the pinned ${binary})`);
    if (propertyPath(coreSettings.body, `properties.${setting}`) !== undefined) problems.push(`the core app sets ${setting}: it runs no ffmpeg and its package carries none`);
  }
  return problems;
}

describe("media tools in the deployment", () => {
  const files = readDeploymentFiles();

  test("the media service's package gets the pinned build (fetched and checked by the hook), the core's none; the media app runs it", () => {
    expect(checkMediaTools(files)).toEqual([]);
    expect(path.relative(REPO_ROOT, PIN_FILE)).toBe(path.join("scripts", "ffmpeg-build.json"));
  });

  test.each([
    ["the media hook dropped", /( {2}custody-media:\n(?: {4}[^\n]*\n)+?) {4}hooks:\n(?: {6,}[^\n]*\n)+/, "$1"],
    ["the media hook cleaning instead of fetching", /(custody-media:[\s\S]*?)media-tools\.js fetch/, "$1media-tools.js clean"],
    ["the core hook fetching", /(custody:\n[\s\S]*?)media-tools\.js clean/, "$1media-tools.js fetch"],
  ])("azure.yaml: %s", (_what, search, replacement) => {
    expect(checkMediaTools(mutate(files, "azure.yaml", search, replacement))).not.toEqual([]);
  });

  test.each([
    ["FFMPEG_PATH pointing elsewhere", "FFMPEG_PATH: 'tools/ffmpeg/ffmpeg'", "FFMPEG_PATH: '/usr/bin/ffmpeg'"],
    ["FFPROBE_PATH unset", "FFPROBE_PATH: 'tools/ffmpeg/ffprobe'", ""],
    ["the core app given FFMPEG_PATH", "    CUSTODY_APP_ROLE: 'core'\n", "    CUSTODY_APP_ROLE: 'core'\n    FFMPEG_PATH: 'tools/ffmpeg/ffmpeg'\n"],
  ])("functions.bicep: %s", (_what, search, replacement) => {
    expect(checkMediaTools(mutate(files, "bicep/modules/functions.bicep", search, replacement))).not.toEqual([]);
  });
});
