/**
 * The layers, as dependency rules (`npm run lint:deps`, part of `npm test`).
 *
 *   functions/ ──► shared/stages, shared/operations ──► shared/ports ◄── shared/adapters
 *                        │                                   │
 *                        └──► shared/contracts, shared/evidence, shared/media, shared/text (pure)
 *
 * functions/ is the app's composition root: it may build adapters (through shared/adapters
 * factories) and hand them to the stages. cli/ is a second composition root for operators;
 * local/ (the embedded stack), bench/, chaos/, test/ and scripts/ are tooling around the app.
 * Paths to packages are matched with `(^|/)node_modules/` so the rules read the same whether
 * node_modules is a folder or a link to one.
 */
const SDK = "(^|/)node_modules/(@azure/[^/]+|rhea|fluent-ffmpeg|@ffmpeg-installer/[^/]+|@ffprobe-installer/[^/]+)/";
const AZURE_FUNCTIONS = "(^|/)node_modules/@azure/functions/";
const TOOLING = "^(local|cli|bench|chaos|test|scripts|examples)/";
const PURE = "^shared/(contracts|evidence|media|text)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle makes two modules one: neither can be read, tested or moved without the other.",
      from: {},
      to: { circular: true },
    },
    {
      name: "app-not-to-tooling",
      severity: "error",
      comment:
        "What ships to Azure (functions/, shared/) never reaches into the embedded stack, the CLI, benches, chaos runs or tests: " +
        "they depend on the app, not the other way round.",
      from: { path: "^(functions|shared)/" },
      to: { path: TOOLING },
    },
    {
      name: "shared-not-to-functions",
      severity: "error",
      comment: "shared/ is what the function files compose; it never imports a function file (functions/ is the composition root).",
      from: { path: "^shared/" },
      to: { path: "^functions/" },
    },
    {
      name: "tooling-not-to-tests",
      severity: "error",
      comment: "The CLI, the embedded stack, benches and chaos runs are shipped or run on their own: they never import test code.",
      from: { path: "^(local|cli|bench|chaos|scripts|examples)/" },
      to: { path: "^test/" },
    },
    {
      name: "local-not-to-cli",
      severity: "error",
      comment: "The embedded stack is started by the CLI (and by tests, benches, chaos runs); it never imports the CLI, a bench or a chaos run.",
      from: { path: "^local/" },
      to: { path: "^(cli|bench|chaos)/" },
    },
    {
      name: "stages-not-to-adapters",
      severity: "error",
      comment: "Stages and operations work through ports (shared/ports); the adapter is chosen by the composition root (functions/, cli/).",
      from: { path: "^shared/(stages|operations|ledger)/" },
      to: { path: "^shared/(adapters|telemetry/azure-monitor)" },
    },
    {
      name: "ports-are-interfaces",
      severity: "error",
      comment: "A port names what a stage needs in the domain's words; it never knows a stage, an operation or an adapter.",
      from: { path: "^shared/ports/" },
      to: { path: "^shared/(adapters|stages|operations|ledger|telemetry)/" },
    },
    {
      name: "adapters-not-to-use-cases",
      severity: "error",
      comment: "Adapters implement ports; they do not call stages or operations (that would turn the dependency around).",
      from: { path: "^shared/adapters/" },
      to: { path: "^shared/(stages|operations|ledger)/" },
    },
    {
      name: "pure-domain",
      severity: "error",
      comment:
        "Contracts, the evidence domain, media planning and text are pure: no adapters, no ports, no stages, no settings — " +
        "data in, data out, unit-testable without fakes. (shared/evidence still names the publisher's OutgoingMessage " +
        "from shared/ports/publisher.ts; that type moves to the contracts with the message-type work, after which " +
        "ports can join this list for evidence too.)",
      from: { path: PURE },
      to: { path: "^shared/(adapters|stages|operations|ledger|telemetry)/|^shared/settings\\.ts$" },
    },
    {
      name: "contracts-and-media-not-to-ports",
      severity: "error",
      comment: "Ports depend on the domain's types (MediaProbe lives in shared/media, SubscriptionRule in the contracts), never the reverse.",
      from: { path: "^shared/(contracts|media|text)/" },
      to: { path: "^shared/ports/" },
    },
    {
      name: "pure-domain-no-io",
      severity: "error",
      comment:
        "Pure modules do no I/O: of Node's built-ins only node:crypto, because evidence ids, message ids and jitter are " +
        "SHA-256 derivations (deterministic, no I/O). No fs, child_process, net, os: reading files and running processes " +
        "belongs to adapters (or to stages, which own their temporary folders).",
      from: { path: PURE },
      to: { dependencyTypes: ["core"], pathNot: "^crypto$" },
    },
    {
      name: "sdk-only-in-adapters",
      severity: "error",
      comment:
        "Azure SDK clients, rhea, fluent-ffmpeg and the ffmpeg binaries are used only in shared/adapters, behind ports — " +
        "the CLI and shared code build their clients through shared/adapters factories. (local/ is the emulator and dev " +
        "host: it is built on rhea and drives functions with the real SDK receivers, so it is outside this rule.)",
      from: { path: "^(shared|cli)/", pathNot: "^shared/adapters/" },
      to: { path: SDK },
    },
    {
      name: "functions-sdk-is-azure-functions",
      severity: "error",
      comment: "Function files register with @azure/functions and nothing else from an SDK: clients come from shared/adapters.",
      from: { path: "^functions/" },
      to: { path: SDK, pathNot: AZURE_FUNCTIONS },
    },
    {
      name: "cli-loads-no-stack",
      severity: "error",
      comment:
        "An operator command (dlq, audit, status, verify …) talks to a running Custody and must not load the embedded stack " +
        "or the function app. Only the commands that start one (custody start / dev-host, custody emulator, and the " +
        "embedded stack `custody process` starts when none runs) may, and they load it lazily (`await import`), so " +
        "registering them loads nothing. local/stack-file.ts is the light contract between a running stack and its clients " +
        "(where stack.json is and what it holds).",
      from: { path: "^cli/" },
      to: { path: "^(local|functions)/", pathNot: "^local/stack-file\\.ts$", dynamic: false, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "cli-lazy-stack-only-where-started",
      severity: "error",
      comment: "Only the modules that start a stack import it, even lazily.",
      from: { path: "^cli/", pathNot: "^cli/(commands/stack|commands/emulator|embedded-stack)\\.ts$" },
      to: { path: "^(local|functions)/", pathNot: "^local/stack-file\\.ts$" },
    },
    {
      name: "no-dev-deps-in-shipped-code",
      severity: "error",
      comment: "What ships (functions/, shared/, and the operator CLI) runs with production dependencies only.",
      from: { path: "^(functions|shared|cli)/" },
      to: { dependencyTypes: ["npm-dev"] },
    },
    {
      name: "no-undeclared-packages",
      severity: "error",
      comment: "Every package imported is declared in package.json (a transitive one can vanish with any update).",
      from: {},
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that does not resolve is a typo or a missing package.",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports count: a port that names an adapter's type depends on it as much as one that calls it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "(^|/)node_modules/" },
    exclude: { path: "^dist/|\\.generated\\.ts$" },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
