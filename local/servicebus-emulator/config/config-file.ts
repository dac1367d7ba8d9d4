/**
 * Reads and validates the emulator's configuration: Microsoft's Service Bus emulator
 * `Config.json` format (schema: Azure/azure-service-bus-emulator-installer,
 * ServiceBus-Emulator/Schema/Config-schema.json), so a file written for Microsoft's emulator
 * works here unchanged. The pieces, one job each:
 * - readers.ts (values and objects, with did-you-mean.ts for unknown keys); names.ts (naming
 *   rules, uniqueness);
 * - properties.ts: each property's range and default (where Microsoft's emulator and the
 *   cloud service disagree, and why);
 * - entities.ts: queues, topics, subscriptions, rules; references.ts: ForwardTo targets;
 * - json-location.ts: where a JSON syntax error is;
 * - config-error.ts: the one error type.
 */
import { readFile } from "node:fs/promises";
import { ConfigError, fail } from "./config-error";
import { checkLogging, readQueue, readTopic, type ParseEmulatorConfigOptions } from "./entities";
import { jsonSyntaxErrorPosition } from "./json-location";
import { NAMESPACE_NAME, NameScope, readName, readNamedList } from "./names";
import { describe, isObject, readArray, readObject } from "./readers";
import { resolveReferences, type PendingReference } from "./references";
import type { NamespaceSpec } from "./types";

export type { ParseEmulatorConfigOptions } from "./entities";

/**
 * Validates a parsed Config.json document and returns its namespace with every default applied.
 * Throws ConfigError naming the first offending field.
 */
export function parseEmulatorConfig(json: unknown, options: ParseEmulatorConfigOptions = {}): NamespaceSpec {
  if (typeof json === "string") {
    fail("", "expected the parsed Config.json object, not a string (JSON.parse it first, or use loadEmulatorConfigFile)");
  }
  if (!isObject(json)) fail("", `the configuration must be a JSON object, not ${describe(json)}`);
  // "$schema" lets editors validate the file against Microsoft's schema.
  const root = readObject(json, "", ["UserConfig", "$schema"]);
  if (!("UserConfig" in root)) fail("UserConfig", "is required");
  const userConfig = readObject(root["UserConfig"], "UserConfig", ["Namespaces", "Logging"]);
  if ("Logging" in userConfig) checkLogging(userConfig["Logging"], "UserConfig.Logging");

  if (!("Namespaces" in userConfig)) fail("UserConfig.Namespaces", "is required: a list with exactly one namespace");
  const namespaces = readArray(userConfig["Namespaces"], "UserConfig.Namespaces");
  if (namespaces.length !== 1) {
    const names = namespaces.map((ns) => (isObject(ns) && typeof ns["Name"] === "string" ? JSON.stringify(ns["Name"]) : "?"));
    fail(
      "UserConfig.Namespaces",
      namespaces.length === 0 ? "lists no namespace; the emulator serves exactly one" : `lists ${namespaces.length} namespaces (${names.join(", ")}); the emulator serves exactly one`,
    );
  }

  const path = "UserConfig.Namespaces[0]";
  const namespace = readObject(namespaces[0], path, ["Name", "Queues", "Topics"]);
  const name = readName(namespace, path, NAMESPACE_NAME, "namespace");

  const pending: PendingReference[] = [];
  const entities = new NameScope("entity names are case-insensitive and queues and topics share one namespace");
  const queues = readNamedList(namespace, "Queues", path, entities, "queue", (value, queuePath) => readQueue(value, queuePath, pending));
  const topics = readNamedList(namespace, "Topics", path, entities, "topic", (value, topicPath) => readTopic(value, topicPath, pending, options));
  resolveReferences(pending, entities);
  return { name, queues, topics };
}

/**
 * Reads, parses and validates a Config.json file. Every failure is a ConfigError whose message
 * starts with the file path; JSON syntax errors give the line and column.
 */
export async function loadEmulatorConfigFile(path: string, options: ParseEmulatorConfigOptions = {}): Promise<NamespaceSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory" : (error as Error).message;
    throw new ConfigError("", `cannot read the emulator config file: ${reason}`, path);
  }
  // Editors on Windows often save a byte order mark, which JSON.parse rejects.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const { line, column } = jsonSyntaxErrorPosition(text);
    throw new ConfigError("", `invalid JSON at line ${line}, column ${column}: ${(error as Error).message}`, path);
  }
  try {
    return parseEmulatorConfig(json, options);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.field, error.detail, path);
    throw error;
  }
}
