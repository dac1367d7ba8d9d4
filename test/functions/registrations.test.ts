/**
 * The Functions entry point registers the definitions of its app's role only (CUSTODY_APP_ROLE)
 * with the v4 model — observed where the Functions host observes them: @azure/functions hands each
 * registration (binding metadata and handler) to @azure/functions-core, the module the host
 * provides, which stands in here (without it the library skips registrations: "test mode") — and
 * the definitions the dev host runs name entities that exist in the topology file.
 */
import { InvocationContext } from "@azure/functions";
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
  expect(names.sort()).toEqual([
    "content-credentials",
    "hash",
    "index-media-results",
    "index-received",
    "index-results",
    "ingest",
    "retention-command",
    "retention-release",
    "thumbnail",
    "transcode",
    "transcode-join",
    "transcode-segment",
  ]);
  const namespace = topology.UserConfig.Namespaces[0];
  const paths = new Set([...namespace.Queues.map((q) => q.Name), ...namespace.Topics.flatMap((t) => t.Subscriptions.map((s) => `${t.Name}/Subscriptions/${s.Name}`))]);
  for (const definition of FUNCTION_DEFINITIONS) expect(paths).toContain(entityPath(definition.entity));
  for (const definition of [...FUNCTION_DEFINITIONS, ...TIMER_DEFINITIONS]) expect(APP_ROLES).toContain(definition.role);
});

test("the media app runs only the stages that parse media; everything that touches the index or claims a hash is core", () => {
  const media = definitionsForRoles(["media"]);
  expect(media.functions.map((d) => d.name).sort()).toEqual(["thumbnail", "transcode", "transcode-join", "transcode-segment"]);
  expect(media.timers).toEqual([]);
  const core = definitionsForRoles(["core"]);
  expect(core.functions.map((d) => d.name).sort()).toEqual([
    "content-credentials",
    "hash",
    "index-media-results",
    "index-received",
    "index-results",
    "ingest",
    "retention-command",
    "retention-release",
  ]);
  expect(core.timers.map((d) => d.name).sort()).toEqual(["disposal", "fixity-sample", "reconcile"]);
  const both = definitionsForRoles(appRoles({}));
  expect(both.functions.length + both.timers.length).toBe(FUNCTION_DEFINITIONS.length + TIMER_DEFINITIONS.length);
});

/** What the Functions host is given for one function: its binding metadata and the handler it invokes. */
interface HostRegistration {
  metadata: { name: string; bindings: Record<string, Record<string, unknown>> };
  handler: (...args: unknown[]) => unknown;
}

/**
 * Loads the entry point with CUSTODY_APP_ROLE=`role` through the real @azure/functions, with the
 * one module the Functions host provides (@azure/functions-core) standing in, and returns what
 * the library registered with it: the binding metadata the host reads, and the handlers.
 */
function registeredWith(role: string | undefined): HostRegistration[] {
  // Each load takes seconds (the whole app and its SDKs): one per role and fixity schedule.
  const key = `${role}|${process.env.CUSTODY_FIXITY_SCHEDULE}`;
  const loaded = loads.get(key) ?? load(role);
  loads.set(key, loaded);
  if (loaded instanceof Error) throw loaded;
  return loaded;
}
const loads = new Map<string, HostRegistration[] | Error>();

function load(role: string | undefined): HostRegistration[] | Error {
  if (role === undefined) delete process.env.CUSTODY_APP_ROLE;
  else process.env.CUSTODY_APP_ROLE = role;
  const registered: HostRegistration[] = [];
  let failure: Error | undefined;
  jest.isolateModules(() => {
    jest.doMock(
      "@azure/functions-core",
      () => ({
        setProgrammingModel: () => undefined,
        getProgrammingModel: () => undefined,
        registerHook: () => ({ dispose: () => undefined }),
        registerFunction: (metadata: HostRegistration["metadata"], handler: HostRegistration["handler"]) => {
          registered.push({ metadata, handler });
          return { dispose: () => undefined };
        },
      }),
      { virtual: true },
    );
    try {
      require("../../functions/index");
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
  });
  if (failure !== undefined) return failure;
  return registered.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

const names = (registrations: HostRegistration[]): string[] => registrations.map((r) => r.metadata.name);

test.each([
  ["media", ["thumbnail", "transcode", "transcode-join", "transcode-segment"]],
  ["core", ["content-credentials", "disposal", "fixity-sample", "hash", "index-media-results", "index-received", "index-results", "ingest", "reconcile", "retention-command", "retention-release"]],
  [
    undefined,
    [
      "content-credentials",
      "disposal",
      "fixity-sample",
      "hash",
      "index-media-results",
      "index-received",
      "index-results",
      "ingest",
      "reconcile",
      "retention-command",
      "retention-release",
      "thumbnail",
      "transcode",
      "transcode-join",
      "transcode-segment",
    ],
  ],
])("the entry point with CUSTODY_APP_ROLE=%s registers exactly that app's functions", (role, expected) => {
  expect(names(registeredWith(role))).toEqual(expected);
});

test("each function reaches the host with the trigger binding of its entity, on the ServiceBusConnection setting", () => {
  const registrations = registeredWith(undefined);
  for (const definition of FUNCTION_DEFINITIONS) {
    const registration = registrations.find((r) => r.metadata.name === definition.name)!;
    const triggers = Object.values(registration.metadata.bindings);
    const entity = definition.entity.kind === "queue" ? { queueName: definition.entity.queueName } : { topicName: definition.entity.topicName, subscriptionName: definition.entity.subscriptionName };
    expect(triggers).toEqual([expect.objectContaining({ type: "serviceBusTrigger", direction: "in", connection: "ServiceBusConnection", ...entity })]);
    expect(typeof registration.handler).toBe("function");
  }
});

test("the timers reach the host with their NCRONTAB schedules from the settings, not run on start-up", () => {
  process.env.CUSTODY_FIXITY_SCHEDULE = "0 15 2 * * *";
  const registrations = registeredWith("core");
  const timers = Object.fromEntries(registrations.filter((r) => TIMER_DEFINITIONS.some((t) => t.name === r.metadata.name)).map((r) => [r.metadata.name, Object.values(r.metadata.bindings)]));
  expect(timers).toEqual({
    "fixity-sample": [expect.objectContaining({ type: "timerTrigger", direction: "in", schedule: "0 15 2 * * *", runOnStartup: false })],
    reconcile: [expect.objectContaining({ type: "timerTrigger", direction: "in", schedule: "0 */30 * * * *", runOnStartup: false })],
    disposal: [expect.objectContaining({ type: "timerTrigger", direction: "in", schedule: "0 0 2 * * *", runOnStartup: false })],
  });
});

test("a message the handler dead-letters makes the registered handler throw, so the host does not complete it", async () => {
  const hash = registeredWith("core").find((r) => r.metadata.name === "hash")!;
  const logged: unknown[][] = [];
  const context = new InvocationContext({
    functionName: "hash",
    invocationId: "test",
    triggerMetadata: { deliveryCount: 1, messageId: "not-a-message" },
    logHandler: (_level, ...args) => void logged.push(args),
  });
  await expect(hash.handler({ not: "an evidence-received message" }, context)).rejects.toMatchObject({ code: "InvalidMessage", retryable: false });
  expect(JSON.stringify(logged)).toContain("invalid message: dead-lettering it");
});

test("an unknown role fails the start, naming the setting", () => {
  expect(() => registeredWith("transcoder")).toThrow(/CUSTODY_APP_ROLE/);
});
