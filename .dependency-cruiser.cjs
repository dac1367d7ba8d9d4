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

/** A rule: no dependency from `from` to `to`; `comment` says why (dependency-cruiser prints it with each violation). */
const forbid = (name, from, to, comment) => ({ name, severity: "error", comment, from, to });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid("no-circular", {}, { circular: true }, "A cycle makes two modules one: neither can be read, tested or moved without the other."),
    forbid(
      "app-not-to-tooling",
      { path: "^(functions|shared)/" },
      { path: TOOLING },
      "What ships to Azure (functions/, shared/) never reaches into the embedded stack, the CLI, benches, chaos runs or tests: " + "they depend on the app, not the other way round.",
    ),
    forbid(
      "shared-not-to-functions",
      { path: "^shared/" },
      { path: "^functions/" },
      "shared/ is what the function files compose; it never imports a function file (functions/ is the composition root).",
    ),
    forbid(
      "tooling-not-to-tests",
      { path: "^(local|cli|bench|chaos|scripts|examples)/" },
      { path: "^test/" },
      "The CLI, the embedded stack, benches and chaos runs are shipped or run on their own: they never import test code.",
    ),
    forbid(
      "local-not-to-cli",
      { path: "^local/" },
      { path: "^(cli|bench|chaos)/" },
      "The embedded stack is started by the CLI (and by tests, benches, chaos runs); it never imports the CLI, a bench or a chaos run.",
    ),
    forbid(
      "stages-not-to-adapters",
      { path: "^shared/(stages|operations|ledger)/" },
      { path: "^shared/adapters/" },
      "Stages and operations work through ports (shared/ports); the adapter is chosen by the composition root (functions/, cli/).",
    ),
    forbid(
      "ports-are-interfaces",
      { path: "^shared/ports/" },
      { path: "^shared/(adapters|stages|operations|ledger|telemetry)/" },
      "A port names what a stage needs in the domain's words; it never knows a stage, an operation or an adapter.",
    ),
    forbid(
      "adapters-not-to-use-cases",
      { path: "^shared/adapters/" },
      { path: "^shared/(stages|operations|ledger)/" },
      "Adapters implement ports; they do not call stages or operations (that would turn the dependency around).",
    ),
    forbid(
      "pure-domain",
      { path: PURE },
      { path: "^shared/(adapters|stages|operations|ledger|telemetry)/|^shared/settings\\.ts$" },
      "Contracts, the evidence domain, media planning and text are pure: no adapters, stages, operations or settings — " + "data in, data out, unit-testable without fakes.",
    ),
    forbid(
      "domain-not-to-ports",
      { path: PURE },
      { path: "^shared/ports/" },
      "Ports depend on the domain's types, never the reverse: MediaProbe lives in shared/media, SubscriptionRule and the " + "message envelopes (OutgoingMessage, VerbatimMessage) in the contracts.",
    ),
    forbid(
      "pure-domain-no-io",
      { path: PURE },
      { dependencyTypes: ["core"], pathNot: "^crypto$" },
      "Pure modules do no I/O: of Node's built-ins only node:crypto, because evidence ids, message ids and jitter are " +
        "SHA-256 derivations (deterministic, no I/O). No fs, child_process, net, os: reading files and running processes " +
        "belongs to adapters (or to stages, which own their temporary folders).",
    ),
    forbid(
      "sdk-only-in-adapters",
      { path: "^(shared|cli)/", pathNot: "^shared/adapters/" },
      { path: SDK },
      "Azure SDK clients, rhea, fluent-ffmpeg and the ffmpeg binaries are used only in shared/adapters, behind ports — " +
        "the CLI and shared code build their clients through shared/adapters factories. (local/ is the emulator and dev " +
        "host: it is built on rhea and drives functions with the real SDK receivers, so it is outside this rule.)",
    ),
    forbid(
      "functions-sdk-is-azure-functions",
      { path: "^functions/" },
      { path: SDK, pathNot: AZURE_FUNCTIONS },
      "Function files register with @azure/functions and nothing else from an SDK: clients come from shared/adapters.",
    ),
    forbid(
      "cli-loads-no-stack",
      { path: "^cli/" },
      { path: "^(local|functions)/", pathNot: "^local/stack-file\\.ts$", dynamic: false, dependencyTypesNot: ["type-only"] },
      "An operator command (dlq, audit, status, verify …) talks to a running Custody and must not load the embedded stack " +
        "or the function app. Only the commands that start one (custody start / dev-host, custody emulator, and the " +
        "embedded stack `custody process` starts when none runs) may, and they load it lazily (`await import`), so " +
        "registering them loads nothing. local/stack-file.ts is the light contract between a running stack and its clients " +
        "(where stack.json is and what it holds).",
    ),
    forbid(
      "cli-lazy-stack-only-where-started",
      { path: "^cli/", pathNot: "^cli/(commands/stack|commands/emulator|embedded-stack)\\.ts$" },
      { path: "^(local|functions)/", pathNot: "^local/stack-file\\.ts$" },
      "Only the modules that start a stack import it, even lazily.",
    ),
    forbid(
      "no-dev-deps-in-shipped-code",
      { path: "^(functions|shared|cli)/" },
      { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
      "What ships (functions/, shared/, and the operator CLI) runs with production dependencies only (a deployment " +
        "installs no devDependencies). Type-only imports are erased by the compiler, so types from a devDependency " +
        "(json-schema-to-ts's FromSchema) are allowed.",
    ),
    forbid("no-undeclared-packages", {}, { dependencyTypes: ["npm-no-pkg", "npm-unknown"] }, "Every package imported is declared in package.json (a transitive one can vanish with any update)."),
    forbid("not-to-unresolvable", {}, { couldNotResolve: true }, "An import that does not resolve is a typo or a missing package."),
  ],
  options: {
    // Type-only imports count: a port that names an adapter's type depends on it as much as one that calls it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "(^|/)node_modules/" },
    // "import" too: an ESM-only package (the C2PA library) exports nothing under "require".
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
    exclude: { path: "^dist/|\\.generated\\.ts$" },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
