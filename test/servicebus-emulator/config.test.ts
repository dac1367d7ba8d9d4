import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../local/servicebus-emulator/config/config-error";
import { loadEmulatorConfigFile, parseEmulatorConfig, type ParseEmulatorConfigOptions } from "../../local/servicebus-emulator/config/config-file";
import { DEFAULT_QUEUE_SETTINGS, DEFAULT_SUBSCRIPTION_SETTINGS, DEFAULT_TOPIC_SETTINGS } from "../../local/servicebus-emulator/config/properties";
import { TIME_SPAN_MAX_ISO, TIME_SPAN_MAX_MS, formatIsoDuration, parseIsoDuration } from "../../local/servicebus-emulator/config/iso-duration";

// ---------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------

describe("parseIsoDuration", () => {
  test.each<[string, number]>([
    ["PT1M", 60_000],
    ["PT30S", 30_000],
    ["PT5M", 300_000],
    ["PT1H", 3_600_000],
    ["P14D", 14 * 86_400_000],
    ["PT0.5S", 500],
    ["PT0,25S", 250],
    ["PT1.2345678S", 1234],
    ["P1DT2H", 26 * 3_600_000],
    ["P1DT2H3M4.5S", 93_784_500],
    ["PT90M", 5_400_000],
    ["P1Y", 365 * 86_400_000],
    ["P1M", 30 * 86_400_000],
    ["P12M", 365 * 86_400_000],
    ["PT0S", 0],
    ["pt1m", 60_000],
    [" PT1M ", 60_000],
    ["P10675199DT2H48M5.4775807S", 922_337_203_685_477],
    // .NET TimeSpan strings
    ["00:01:00", 60_000],
    ["00:00:30.5", 30_500],
    ["1.00:00:00", 86_400_000],
    ["14.00:00:00", 14 * 86_400_000],
    ["01:30", 5_400_000],
    ["1:02:03:04", 93_784_000],
    ["10675199.02:48:05.4775807", 922_337_203_685_477],
  ])("%s → %d ms", (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  test.each(["", "P", "PT", "P1DT", "PT1X", "1M", "PT-1M", "-PT1M", "P1.5D", "PT1H1H", "PT1S1M", "P2W", "00:60:00", "24:00:00", "abc", "P10675199DT2H48M5.4775808S", "P99999999D"])(
    "rejects %j",
    (text) => {
      expect(() => parseIsoDuration(text)).toThrow(/is not an ISO 8601 duration/);
    },
  );

  test("TimeSpan.MaxValue is finite and safe for expiry arithmetic", () => {
    expect(TIME_SPAN_MAX_MS).toBe(parseIsoDuration(TIME_SPAN_MAX_ISO));
    expect(Number.isSafeInteger(TIME_SPAN_MAX_MS)).toBe(true);
    expect(Number.isNaN(new Date(Date.now() + TIME_SPAN_MAX_MS).getTime())).toBe(false);
  });

  test.each<[number, string]>([
    [0, "PT0S"],
    [500, "PT0.5S"],
    [60_000, "PT1M"],
    [93_784_500, "P1DT2H3M4.5S"],
    [14 * 86_400_000, "P14D"],
    [TIME_SPAN_MAX_MS, TIME_SPAN_MAX_ISO],
    [Infinity, TIME_SPAN_MAX_ISO],
  ])("formatIsoDuration(%d) = %s", (ms, text) => {
    expect(formatIsoDuration(ms)).toBe(text);
    expect(parseIsoDuration(text)).toBe(Math.min(ms, TIME_SPAN_MAX_MS));
  });
});

// ---------------------------------------------------------------------------------------------
// Config.json
// ---------------------------------------------------------------------------------------------

const receivableProperties = {
  DeadLetteringOnMessageExpiration: true,
  DefaultMessageTimeToLive: "PT1H",
  LockDuration: "PT30S",
  MaxDeliveryCount: 3,
  RequiresSession: true,
};

/** Config.json as the file holds it: the parser under test decides what it means. */
type RawConfig = Record<string, unknown>;

/** Sets the value at a path such as `UserConfig.Namespaces[0].Name` (as errors name fields); `undefined` removes the key. */
function edit(config: RawConfig, path: string, value: unknown): void {
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  const last = keys.pop()!;
  let node = config;
  for (const key of keys) node = node[key] as RawConfig;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** A config using every property the format has. */
function fullConfig(): RawConfig {
  return {
    UserConfig: {
      Namespaces: [
        {
          Name: "sbemulatorns",
          Queues: [
            {
              Name: "queue.1",
              Properties: {
                ...receivableProperties,
                DuplicateDetectionHistoryTimeWindow: "PT20S",
                ForwardDeadLetteredMessagesTo: "dlq-sink",
                ForwardTo: "Topic.1",
                RequiresDuplicateDetection: true,
                RequiresSession: false,
              },
            },
            {
              Name: "dlq-sink",
              Properties: {
                DeadLetteringOnMessageExpiration: false,
                DefaultMessageTimeToLive: "PT1H",
                DuplicateDetectionHistoryTimeWindow: "PT20S",
                ForwardDeadLetteredMessagesTo: "",
                ForwardTo: "",
                LockDuration: "PT1M",
                MaxDeliveryCount: 3,
                RequiresDuplicateDetection: false,
                RequiresSession: false,
              },
            },
          ],
          Topics: [
            {
              Name: "topic.1",
              Properties: {
                DefaultMessageTimeToLive: "PT1H",
                DuplicateDetectionHistoryTimeWindow: "PT20S",
                RequiresDuplicateDetection: true,
              },
              Subscriptions: [
                {
                  Name: "subscription.1",
                  Properties: { ...receivableProperties, ForwardTo: "DLQ-SINK", ForwardDeadLetteredMessagesTo: "" },
                  Rules: [
                    {
                      Name: "app-prop-filter-1",
                      Properties: {
                        FilterType: "Correlation",
                        CorrelationFilter: {
                          ContentType: "application/text",
                          CorrelationId: "id1",
                          Label: "subject1",
                          MessageId: "msgid1",
                          ReplyTo: "someQueue",
                          ReplyToSessionId: "sessionId",
                          SessionId: "session1",
                          To: "xyz",
                          Properties: { prop1: "value1", count: 3, flag: true },
                        },
                      },
                    },
                    {
                      Name: "sql-filter-1",
                      Properties: {
                        FilterType: "sql",
                        SqlFilter: { SqlExpression: "sys.MessageId = '1' AND p = 'v'" },
                        Action: { SqlExpression: "SET sys.To = 'x'" },
                      },
                    },
                  ],
                },
                { Name: "subscription.2" },
              ],
            },
          ],
        },
      ],
      Logging: { Type: "File" },
    },
  };
}

describe("parseEmulatorConfig: valid configs", () => {
  test("reads every property of a full config", () => {
    const spec = parseEmulatorConfig(fullConfig());
    expect(spec).toEqual({
      name: "sbemulatorns",
      queues: [
        {
          name: "queue.1",
          settings: {
            lockDurationInMs: 30_000,
            maxDeliveryCount: 3,
            defaultMessageTimeToLiveInMs: 3_600_000,
            deadLetteringOnMessageExpiration: true,
            requiresSession: false,
            requiresDuplicateDetection: true,
            duplicateDetectionHistoryTimeWindowInMs: 20_000,
            // Resolved to the configured spelling of the target entity.
            forwardTo: "topic.1",
            forwardDeadLetteredMessagesTo: "dlq-sink",
          },
        },
        {
          name: "dlq-sink",
          settings: {
            lockDurationInMs: 60_000,
            maxDeliveryCount: 3,
            defaultMessageTimeToLiveInMs: 3_600_000,
            deadLetteringOnMessageExpiration: false,
            requiresSession: false,
            requiresDuplicateDetection: false,
            duplicateDetectionHistoryTimeWindowInMs: 20_000,
          },
        },
      ],
      topics: [
        {
          name: "topic.1",
          settings: {
            defaultMessageTimeToLiveInMs: 3_600_000,
            requiresDuplicateDetection: true,
            duplicateDetectionHistoryTimeWindowInMs: 20_000,
          },
          subscriptions: [
            {
              name: "subscription.1",
              settings: {
                lockDurationInMs: 30_000,
                maxDeliveryCount: 3,
                defaultMessageTimeToLiveInMs: 3_600_000,
                deadLetteringOnMessageExpiration: true,
                requiresSession: true,
                forwardTo: "dlq-sink",
              },
              rules: [
                {
                  name: "app-prop-filter-1",
                  filter: {
                    kind: "correlation",
                    correlation: {
                      contentType: "application/text",
                      correlationId: "id1",
                      subject: "subject1",
                      messageId: "msgid1",
                      replyTo: "someQueue",
                      replyToSessionId: "sessionId",
                      sessionId: "session1",
                      to: "xyz",
                      applicationProperties: { prop1: "value1", count: 3, flag: true },
                    },
                  },
                },
                {
                  name: "sql-filter-1",
                  filter: { kind: "sql", sqlExpression: "sys.MessageId = '1' AND p = 'v'" },
                  actionSqlExpression: "SET sys.To = 'x'",
                },
              ],
            },
            {
              name: "subscription.2",
              settings: DEFAULT_SUBSCRIPTION_SETTINGS,
              rules: [{ name: "$Default", filter: { kind: "true" } }],
            },
          ],
        },
      ],
    });
    // Empty ForwardTo strings leave the property unset rather than "".
    expect("forwardTo" in spec.queues[1].settings).toBe(false);
  });

  test("applies the service defaults to a minimal config", () => {
    const spec = parseEmulatorConfig({
      UserConfig: { Namespaces: [{ Name: "sbemulatorns", Queues: [{ Name: "q" }], Topics: [{ Name: "t", Subscriptions: [{ Name: "s", Rules: [] }] }] }] },
    });
    expect(spec.queues[0].settings).toEqual({
      lockDurationInMs: 60_000,
      maxDeliveryCount: 10,
      defaultMessageTimeToLiveInMs: TIME_SPAN_MAX_MS,
      deadLetteringOnMessageExpiration: false,
      requiresSession: false,
      requiresDuplicateDetection: false,
      duplicateDetectionHistoryTimeWindowInMs: 600_000,
    });
    expect(spec.queues[0].settings).toEqual(DEFAULT_QUEUE_SETTINGS);
    expect(spec.topics[0].settings).toEqual(DEFAULT_TOPIC_SETTINGS);
    expect(spec.topics[0].subscriptions[0].settings).toEqual(DEFAULT_SUBSCRIPTION_SETTINGS);
    expect(spec.topics[0].subscriptions[0].rules).toEqual([{ name: "$Default", filter: { kind: "true" } }]);
  });

  test("Queues, Topics, Subscriptions and Logging may be omitted", () => {
    expect(parseEmulatorConfig({ UserConfig: { Namespaces: [{ Name: "sbemulatorns" }] } })).toEqual({
      name: "sbemulatorns",
      queues: [],
      topics: [],
    });
    expect(parseEmulatorConfig({ UserConfig: { Namespaces: [{ Name: "sbemulatorns", Topics: [{ Name: "t" }] }] } }).topics[0].subscriptions).toEqual([]);
  });

  test("does not share default objects between entities", () => {
    const spec = parseEmulatorConfig({ UserConfig: { Namespaces: [{ Name: "sbemulatorns", Queues: [{ Name: "a" }, { Name: "b" }] }] } });
    spec.queues[0].settings.lockDurationInMs = 1;
    expect(spec.queues[1].settings.lockDurationInMs).toBe(60_000);
    expect(DEFAULT_QUEUE_SETTINGS.lockDurationInMs).toBe(60_000);
  });

  test("accepts the limits of the range, $schema, an explicit $Default rule, and Logging variants", () => {
    const spec = parseEmulatorConfig({
      $schema: "./Config-schema.json",
      UserConfig: {
        Namespaces: [
          {
            Name: "sbemulatorns",
            Queues: [
              { Name: "a", Properties: { LockDuration: "PT5S", DuplicateDetectionHistoryTimeWindow: "PT5S", DefaultMessageTimeToLive: "PT0.001S" } },
              { Name: "b/c", Properties: { LockDuration: "PT5M", DuplicateDetectionHistoryTimeWindow: "P7D", DefaultMessageTimeToLive: TIME_SPAN_MAX_ISO, MaxDeliveryCount: 2147483647 } },
              { Name: "x".repeat(260) },
            ],
            Topics: [
              {
                Name: "t",
                Subscriptions: [
                  {
                    Name: "s".repeat(50),
                    Rules: [{ Name: "$default", Properties: { FilterType: "SQL", SqlFilter: { SqlExpression: "1=1" }, Action: { SqlExpression: "" } } }],
                  },
                ],
              },
            ],
          },
        ],
        Logging: { Type: "Console, File" },
      },
    });
    expect(spec.queues.map((q) => q.settings.lockDurationInMs)).toEqual([5_000, 300_000, 60_000]);
    expect(spec.queues[1].settings.defaultMessageTimeToLiveInMs).toBe(TIME_SPAN_MAX_MS);
    expect(spec.topics[0].subscriptions[0].rules).toEqual([{ name: "$Default", filter: { kind: "sql", sqlExpression: "1=1" } }]);
  });

  test("passes SQL text to the injected validators", () => {
    const seen: string[] = [];
    const options: ParseEmulatorConfigOptions = {
      validateSqlFilter: (sql) => void seen.push(`filter:${sql}`),
      validateSqlAction: (sql) => void seen.push(`action:${sql}`),
    };
    parseEmulatorConfig(fullConfig(), options);
    expect(seen).toEqual(["filter:sys.MessageId = '1' AND p = 'v'", "action:SET sys.To = 'x'"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Validation errors: each case mutates the full config and expects the field path in the error.
// ---------------------------------------------------------------------------------------------

const NS = "UserConfig.Namespaces[0]";
const Q0 = `${NS}.Queues[0]`;
const T0 = `${NS}.Topics[0]`;
const S0 = `${T0}.Subscriptions[0]`;
const R0 = `${S0}.Rules[0]`;
const R1 = `${S0}.Rules[1]`;

function expectConfigError(config: unknown, field: string, pattern: RegExp, options?: ParseEmulatorConfigOptions): ConfigError {
  let caught: unknown;
  try {
    parseEmulatorConfig(config, options);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const error = caught as ConfigError;
  expect(error.code).toBe("InvalidConfig");
  expect(error.field).toBe(field);
  expect(error.message.startsWith(`${field}: `)).toBe(field !== "");
  expect(error.message).toMatch(pattern);
  return error;
}

type Mutation = (config: RawConfig) => void;

describe("parseEmulatorConfig: validation errors name the field", () => {
  test.each<[string, Mutation, string, RegExp]>([
    // Durations
    ["bad duration", (c) => edit(c, `${Q0}.Properties.LockDuration`, "PT1X"), `${Q0}.Properties.LockDuration`, /"PT1X" is not an ISO 8601 duration/],
    ["duration as number", (c) => edit(c, `${Q0}.Properties.LockDuration`, 60), `${Q0}.Properties.LockDuration`, /must be a string, not number 60/],
    ["lock too short", (c) => edit(c, `${Q0}.Properties.LockDuration`, "PT4S"), `${Q0}.Properties.LockDuration`, /out of range: must be between 5 s and 5 min/],
    ["lock too long", (c) => edit(c, `${S0}.Properties.LockDuration`, "PT6M"), `${S0}.Properties.LockDuration`, /between 5 s and 5 min/],
    ["zero TTL", (c) => edit(c, `${T0}.Properties.DefaultMessageTimeToLive`, "PT0S"), `${T0}.Properties.DefaultMessageTimeToLive`, /greater than zero/],
    ["TTL over TimeSpan.MaxValue", (c) => edit(c, `${Q0}.Properties.DefaultMessageTimeToLive`, "P99999999D"), `${Q0}.Properties.DefaultMessageTimeToLive`, /TimeSpan.MaxValue/],
    ["duplicate window too long", (c) => edit(c, `${Q0}.Properties.DuplicateDetectionHistoryTimeWindow`, "P8D"), `${Q0}.Properties.DuplicateDetectionHistoryTimeWindow`, /between 5 s and 7 days/],
    ["duplicate window too short", (c) => edit(c, `${T0}.Properties.DuplicateDetectionHistoryTimeWindow`, "PT1S"), `${T0}.Properties.DuplicateDetectionHistoryTimeWindow`, /between 5 s and 7 days/],
    // Integers and booleans
    ["MaxDeliveryCount 0", (c) => edit(c, `${Q0}.Properties.MaxDeliveryCount`, 0), `${Q0}.Properties.MaxDeliveryCount`, /must be an integer ≥ 1/],
    ["MaxDeliveryCount fractional", (c) => edit(c, `${S0}.Properties.MaxDeliveryCount`, 2.5), `${S0}.Properties.MaxDeliveryCount`, /must be an integer ≥ 1/],
    ["MaxDeliveryCount as string", (c) => edit(c, `${Q0}.Properties.MaxDeliveryCount`, "3"), `${Q0}.Properties.MaxDeliveryCount`, /must be an integer ≥ 1, not "3"/],
    ["boolean as string", (c) => edit(c, `${Q0}.Properties.RequiresSession`, "true"), `${Q0}.Properties.RequiresSession`, /must be true or false/],
    // Unknown properties
    ["typo in a property", (c) => edit(c, `${Q0}.Properties.LockDuraton`, "PT1M"), `${Q0}.Properties.LockDuraton`, /unknown property \(did you mean "LockDuration"\?\); allowed here: .*LockDuration/],
    ["wrong case", (c) => edit(c, `${Q0}.Properties.lockDuration`, "PT1M"), `${Q0}.Properties.lockDuration`, /did you mean "LockDuration"/],
    [
      "queue-only property on a topic",
      (c) => edit(c, `${T0}.Properties.LockDuration`, "PT1M"),
      `${T0}.Properties.LockDuration`,
      /unknown property.*allowed here: DefaultMessageTimeToLive, DuplicateDetectionHistoryTimeWindow, RequiresDuplicateDetection/,
    ],
    ["duplicate detection on a subscription", (c) => edit(c, `${S0}.Properties.RequiresDuplicateDetection`, true), `${S0}.Properties.RequiresDuplicateDetection`, /unknown property/],
    ["unknown entity key", (c) => edit(c, `${Q0}.Settings`, {}), `${Q0}.Settings`, /unknown property; allowed here: Name, Properties/],
    ["unknown top-level key", (c) => edit(c, "Extra", 1), "Extra", /allowed here: UserConfig, \$schema/],
    ["unknown correlation field", (c) => edit(c, `${R0}.Properties.CorrelationFilter.Subject`, "x"), `${R0}.Properties.CorrelationFilter.Subject`, /unknown property.*Label/],
    // Structure
    ["missing UserConfig", (c) => edit(c, "UserConfig", undefined), "UserConfig", /is required/],
    ["Properties not an object", (c) => edit(c, `${Q0}.Properties`, []), `${Q0}.Properties`, /must be an object, not an array/],
    ["Properties null", (c) => edit(c, `${Q0}.Properties`, null), `${Q0}.Properties`, /must be an object, not null/],
    ["Queues not an array", (c) => edit(c, `${NS}.Queues`, {}), `${NS}.Queues`, /must be an array/],
    ["no namespace", (c) => edit(c, "UserConfig.Namespaces", []), "UserConfig.Namespaces", /lists no namespace; the emulator serves exactly one/],
    ["two namespaces", (c) => edit(c, "UserConfig.Namespaces[1]", { Name: "otherns" }), "UserConfig.Namespaces", /lists 2 namespaces \("sbemulatorns", "otherns"\); the emulator serves exactly one/],
    ["bad logging type", (c) => edit(c, "UserConfig.Logging.Type", "Syslog"), "UserConfig.Logging.Type", /not a logging type/],
    // Names
    ["missing queue name", (c) => edit(c, `${NS}.Queues[1].Name`, undefined), `${NS}.Queues[1].Name`, /every queue needs a Name/],
    ["missing subscription name", (c) => edit(c, `${T0}.Subscriptions[1].Name`, undefined), `${T0}.Subscriptions[1].Name`, /every subscription needs a Name/],
    ["name not a string", (c) => edit(c, `${T0}.Name`, 5), `${T0}.Name`, /must be a string/],
    ["empty name", (c) => edit(c, `${Q0}.Name`, ""), `${Q0}.Name`, /name is empty/],
    ["invalid characters", (c) => edit(c, `${Q0}.Name`, "orders queue!"), `${Q0}.Name`, /"orders queue!" is not a valid queue name: use letters, digits, periods, hyphens, underscores and slashes/],
    ["starts with a hyphen", (c) => edit(c, `${T0}.Name`, "-t"), `${T0}.Name`, /not a valid topic name/],
    ["ends with a slash", (c) => edit(c, `${Q0}.Name`, "a/"), `${Q0}.Name`, /not a valid queue name/],
    ["queue name too long", (c) => edit(c, `${Q0}.Name`, "q".repeat(261)), `${Q0}.Name`, /too long for a queue name \(261 characters, at most 260\)/],
    ["subscription name too long", (c) => edit(c, `${S0}.Name`, "s".repeat(51)), `${S0}.Name`, /at most 50/],
    ["slash in a subscription name", (c) => edit(c, `${S0}.Name`, "a/b"), `${S0}.Name`, /not a valid subscription name/],
    ["invalid rule name", (c) => edit(c, `${R0}.Name`, "rule 1"), `${R0}.Name`, /not a valid rule name/],
    ["invalid namespace name", (c) => edit(c, `${NS}.Name`, "1ns"), `${NS}.Name`, /not a valid namespace name/],
    // Duplicates
    [
      "duplicate queue (case-insensitive)",
      (c) => edit(c, `${NS}.Queues[1].Name`, "QUEUE.1"),
      `${NS}.Queues[1].Name`,
      /"QUEUE.1" is already used by the queue "queue.1" at UserConfig.Namespaces\[0\].Queues\[0\].Name/,
    ],
    ["topic named like a queue", (c) => edit(c, `${T0}.Name`, "Dlq-Sink"), `${T0}.Name`, /topic name "Dlq-Sink" is already used by the queue "dlq-sink".*queues and topics share one namespace/],
    ["duplicate subscription", (c) => edit(c, `${T0}.Subscriptions[1].Name`, "SUBSCRIPTION.1"), `${T0}.Subscriptions[1].Name`, /already used by the subscription/],
    ["duplicate rule", (c) => edit(c, `${R1}.Name`, "App-Prop-Filter-1"), `${R1}.Name`, /already used by the rule/],
    // Forwarding
    ["ForwardTo a missing entity", (c) => edit(c, `${Q0}.Properties.ForwardTo`, "nowhere"), `${Q0}.Properties.ForwardTo`, /"nowhere" is not a queue or topic in this configuration/],
    ["dead letters to a missing entity", (c) => edit(c, `${S0}.Properties.ForwardDeadLetteredMessagesTo`, "nowhere"), `${S0}.Properties.ForwardDeadLetteredMessagesTo`, /not a queue or topic/],
    ["ForwardTo itself", (c) => edit(c, `${Q0}.Properties.ForwardTo`, "Queue.1"), `${Q0}.Properties.ForwardTo`, /cannot forward to itself/],
    ["ForwardTo a subscription path", (c) => edit(c, `${Q0}.Properties.ForwardTo`, "topic.1/Subscriptions/subscription.1"), `${Q0}.Properties.ForwardTo`, /not a queue or topic/],
    ["ForwardTo an invalid name", (c) => edit(c, `${Q0}.Properties.ForwardTo`, "bad name"), `${Q0}.Properties.ForwardTo`, /not a valid entity name/],
    // Rules
    ["missing FilterType", (c) => edit(c, `${R0}.Properties.FilterType`, undefined), `${R0}.Properties.FilterType`, /is required: "Correlation" or "Sql"/],
    ["unknown FilterType", (c) => edit(c, `${R0}.Properties.FilterType`, "Boolean"), `${R0}.Properties.FilterType`, /"Boolean" is not a filter type/],
    ["rule without Properties", (c) => edit(c, `${R0}.Properties`, undefined), `${R0}.Properties`, /is required/],
    ["Correlation without CorrelationFilter", (c) => edit(c, `${R0}.Properties.CorrelationFilter`, undefined), `${R0}.Properties.CorrelationFilter`, /is required when FilterType is "Correlation"/],
    ["Sql with a CorrelationFilter", (c) => edit(c, `${R1}.Properties.CorrelationFilter`, { To: "x" }), `${R1}.Properties.CorrelationFilter`, /not allowed when FilterType is "sql"/],
    ["empty correlation filter", (c) => edit(c, `${R0}.Properties.CorrelationFilter`, { To: "", Properties: {} }), `${R0}.Properties.CorrelationFilter`, /needs at least one non-empty property/],
    ["correlation value not a string", (c) => edit(c, `${R0}.Properties.CorrelationFilter.To`, 1), `${R0}.Properties.CorrelationFilter.To`, /must be a string/],
    [
      "application property object value",
      (c) => edit(c, `${R0}.Properties.CorrelationFilter.Properties.nested`, { a: 1 }),
      `${R0}.Properties.CorrelationFilter.Properties.nested`,
      /must be a string, number or boolean/,
    ],
    ["missing SqlExpression", (c) => edit(c, `${R1}.Properties.SqlFilter`, {}), `${R1}.Properties.SqlFilter.SqlExpression`, /is required/],
    ["empty SqlExpression", (c) => edit(c, `${R1}.Properties.SqlFilter.SqlExpression`, " "), `${R1}.Properties.SqlFilter.SqlExpression`, /must not be empty/],
    ["unknown key in Action", (c) => edit(c, `${R1}.Properties.Action.Sql`, "SET a = 1"), `${R1}.Properties.Action.Sql`, /did you mean "SqlExpression"/],
  ])("%s", (_title, mutate, field, pattern) => {
    const config = fullConfig();
    mutate(config);
    expectConfigError(config, field, pattern);
  });

  test("reports SQL rejected by the injected validators with the field path", () => {
    const reject = (sql: string): void => {
      throw new Error(`syntax error near ${sql.slice(0, 3)}`);
    };
    expectConfigError(fullConfig(), `${R1}.Properties.SqlFilter.SqlExpression`, /invalid SQL filter "sys.MessageId = '1' AND p = 'v'": syntax error near sys/, {
      validateSqlFilter: reject,
    });
    expectConfigError(fullConfig(), `${R1}.Properties.Action.SqlExpression`, /invalid SQL action "SET sys.To = 'x'": syntax error near SET/, {
      validateSqlAction: reject,
    });
  });

  test("rejects a JSON string and non-object documents", () => {
    expectConfigError("{}", "", /not a string/);
    expectConfigError([], "", /the configuration must be a JSON object, not an array/);
    expectConfigError(null, "", /must be a JSON object, not null/);
  });

  test("ConfigError is an Error with name, code, field and detail", () => {
    const error = expectConfigError({ UserConfig: { Namespaces: [] } }, "UserConfig.Namespaces", /exactly one/);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ConfigError");
    expect(error.detail).toBe("lists no namespace; the emulator serves exactly one");
    expect(error.file).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

describe("loadEmulatorConfigFile", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "custody-sb-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text, "utf8");
    return path;
  }

  async function loadError(path: string): Promise<ConfigError> {
    const error = await loadEmulatorConfigFile(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).file).toBe(path);
    expect((error as ConfigError).message.startsWith(`${path}: `)).toBe(true);
    return error as ConfigError;
  }

  test("loads a valid file, with a byte order mark", async () => {
    const path = await write("Config.json", "\uFEFF" + JSON.stringify(fullConfig(), null, 2));
    const spec = await loadEmulatorConfigFile(path);
    expect(spec.name).toBe("sbemulatorns");
    expect(spec.queues.map((q) => q.name)).toEqual(["queue.1", "dlq-sink"]);
  });

  test("passes options through", async () => {
    const path = await write("options.json", JSON.stringify(fullConfig()));
    await expect(
      loadEmulatorConfigFile(path, {
        validateSqlFilter: () => {
          throw new Error("nope");
        },
      }),
    ).rejects.toThrow(/SqlFilter\.SqlExpression: invalid SQL filter .*nope/);
  });

  test("a missing file names the file", async () => {
    const path = join(dir, "missing.json");
    const error = await loadError(path);
    expect(error.field).toBe("");
    expect(error.message).toMatch(/cannot read the emulator config file: file not found/);
  });

  test("a directory names the file", async () => {
    const error = await loadError(dir);
    expect(error.message).toMatch(/cannot read/);
  });

  test.each<[string, string, number, number]>([
    ["trailing comma", '{\n  "UserConfig": {\n    "Namespaces": [],\n  }\n}', 4, 3],
    ["missing value", '{\n  "UserConfig": }', 2, 17],
    ["unquoted key", "{\n\n   UserConfig: 1}", 3, 4],
    ["truncated", '{ "UserConfig": { "Namespaces": [', 1, 34],
    ["comment", '// Config\n{ "UserConfig": {} }', 1, 1],
    ["empty", "", 1, 1],
    ["leading zero", '{ "a": 01 }', 1, 9],
    ["a second document", "{}\n{}", 2, 1],
  ])("invalid JSON (%s) gives the line and column", async (_title, text, line, column) => {
    const path = await write("broken.json", text);
    const error = await loadError(path);
    expect(error.field).toBe("");
    expect(error.message).toContain(`invalid JSON at line ${line}, column ${column}: `);
  });

  test("validation errors carry the file and the field", async () => {
    const config = fullConfig();
    edit(config, `${Q0}.Properties.LockDuration`, "PT1X");
    const path = await write("invalid.json", JSON.stringify(config));
    const error = await loadError(path);
    expect(error.field).toBe(`${Q0}.Properties.LockDuration`);
    expect(error.message).toBe(`${path}: ${Q0}.Properties.LockDuration: ${error.detail}`);
    expect(error.detail).toMatch(/"PT1X" is not an ISO 8601 duration/);
  });
});
