/**
 * The Functions entry point registers every definition with the v4 model without throwing
 * (outside the Functions host @azure/functions skips the registrations, "test mode"), and the
 * definitions the dev host runs name entities that exist in the topology file.
 */
import topology from "../../topology/servicebus.json";
import { FUNCTION_DEFINITIONS } from "../../functions/definitions";
import { entityPath } from "../../shared/topology";

test("every function is defined once, on an entity of the topology file", () => {
  const names = FUNCTION_DEFINITIONS.map((d) => d.name);
  expect(new Set(names).size).toBe(names.length);
  expect(names.sort()).toEqual(["hash", "index-received", "index-results", "ingest", "thumbnail", "transcode"]);
  const namespace = topology.UserConfig.Namespaces[0];
  const paths = new Set([
    ...namespace.Queues.map((q) => q.Name),
    ...namespace.Topics.flatMap((t) => t.Subscriptions.map((s) => `${t.Name}/Subscriptions/${s.Name}`)),
  ]);
  for (const definition of FUNCTION_DEFINITIONS) expect(paths).toContain(entityPath(definition.entity));
});

test("the Functions entry point loads and registers without the host", () => {
  const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
  try {
    expect(() => jest.isolateModules(() => require("../../functions/index"))).not.toThrow();
  } finally {
    warn.mockRestore();
  }
});
