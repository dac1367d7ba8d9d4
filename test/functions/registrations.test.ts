/**
 * The Functions entry point registers the definitions of its app's role only (CUSTODY_APP_ROLE)
 * with the v4 model — outside the Functions host @azure/functions skips the registrations ("test
 * mode"), so the calls are observed here — and the definitions the dev host runs name entities
 * that exist in the topology file.
 */
import topology from "../../topology/servicebus.json";
import { appRoles, APP_ROLES } from "../../functions/app-roles";
import { definitionsForRoles, FUNCTION_DEFINITIONS, TIMER_DEFINITIONS } from "../../functions/definitions";
import { entityPath } from "../../shared/topology";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

test("every function is defined once, on an entity of the topology file, in exactly one app", () => {
  const names = FUNCTION_DEFINITIONS.map((d) => d.name);
  expect(new Set(names).size).toBe(names.length);
  expect(names.sort()).toEqual(["hash", "index-media-results", "index-received", "index-results", "ingest", "thumbnail", "transcode"]);
  const namespace = topology.UserConfig.Namespaces[0];
  const paths = new Set([
    ...namespace.Queues.map((q) => q.Name),
    ...namespace.Topics.flatMap((t) => t.Subscriptions.map((s) => `${t.Name}/Subscriptions/${s.Name}`)),
  ]);
  for (const definition of FUNCTION_DEFINITIONS) expect(paths).toContain(entityPath(definition.entity));
  for (const definition of [...FUNCTION_DEFINITIONS, ...TIMER_DEFINITIONS]) expect(APP_ROLES).toContain(definition.role);
});

test("the media app runs only the stages that parse media; everything that touches the index or claims a hash is core", () => {
  const media = definitionsForRoles(["media"]);
  expect(media.functions.map((d) => d.name).sort()).toEqual(["thumbnail", "transcode"]);
  expect(media.timers).toEqual([]);
  const core = definitionsForRoles(["core"]);
  expect(core.functions.map((d) => d.name).sort()).toEqual(["hash", "index-media-results", "index-received", "index-results", "ingest"]);
  expect(core.timers.map((d) => d.name).sort()).toEqual(["fixity-sample", "reconcile"]);
  const both = definitionsForRoles(appRoles({}));
  expect(both.functions.length + both.timers.length).toBe(FUNCTION_DEFINITIONS.length + TIMER_DEFINITIONS.length);
});

/** Loads the entry point with CUSTODY_APP_ROLE=`role` and returns the function names it registered with @azure/functions. */
function registeredWith(role: string | undefined): string[] {
  if (role === undefined) delete process.env.CUSTODY_APP_ROLE;
  else process.env.CUSTODY_APP_ROLE = role;
  const registered: string[] = [];
  jest.isolateModules(() => {
    const { app } = require("@azure/functions") as typeof import("@azure/functions");
    const record = (name: string): void => {
      registered.push(name);
    };
    jest.spyOn(app, "serviceBusQueue").mockImplementation(record);
    jest.spyOn(app, "serviceBusTopic").mockImplementation(record);
    jest.spyOn(app, "timer").mockImplementation(record);
    require("../../functions/index");
  });
  return registered.sort();
}

test.each([
  ["media", ["thumbnail", "transcode"]],
  ["core", ["fixity-sample", "hash", "index-media-results", "index-received", "index-results", "ingest", "reconcile"]],
  [undefined, ["fixity-sample", "hash", "index-media-results", "index-received", "index-results", "ingest", "reconcile", "thumbnail", "transcode"]],
])("the entry point with CUSTODY_APP_ROLE=%s registers exactly that app's functions", (role, expected) => {
  expect(registeredWith(role)).toEqual(expected);
});

test("an unknown role fails the start, naming the setting", () => {
  expect(() => registeredWith("transcoder")).toThrow(/CUSTODY_APP_ROLE/);
});

test("the Functions entry point loads and registers without the host", () => {
  const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
  try {
    expect(() => jest.isolateModules(() => require("../../functions/index"))).not.toThrow();
  } finally {
    warn.mockRestore();
  }
});
