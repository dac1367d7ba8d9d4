/**
 * Which jest project a test file belongs to (jest.config.js). Files and folders (ending in "/")
 * relative to the repository; every other test file is a unit test.
 * - integration: the real SDK against one embedded service, or real ffmpeg;
 * - e2e: the whole embedded stack, the CLI as a process, the pipeline.
 */
const INTEGRATION = [
  "test/adapters/azure-blob-store-media.test.ts",
  "test/adapters/azure-blob-store.test.ts",
  "test/adapters/azure-retention-store.test.ts",
  "test/adapters/blob-upload-spans.test.ts",
  "test/adapters/ffmpeg-media-tool.test.ts",
  "test/adapters/key-vault-signer.test.ts",
  "test/media/content-credentials.test.ts",
  "test/media/mp4-excerpt.test.ts",
  "test/disclosure/",
  "test/functions/reschedule.test.ts",
  "test/functions/services.test.ts",
  "test/ledger/custody-ledger.test.ts",
  "test/local/blob-event-source.test.ts",
  "test/local/emulated-retention-store.test.ts",
  "test/local/fault-proxy.test.ts",
  "test/local/stand-ins.test.ts",
  "test/provenance/openssl-verify.test.ts",
  "test/scripts/await-package-roles.test.ts",
  "test/package/app-package.test.ts",
  "test/package/media-tools.test.ts",
  "test/servicebus-emulator/admin-port-sharing.test.ts",
  "test/servicebus-emulator/admin.test.ts",
  "test/servicebus-emulator/operations.test.ts",
  "test/servicebus-emulator/queues.test.ts",
  "test/servicebus-emulator/sessions.test.ts",
  "test/servicebus-emulator/topics-and-rules.test.ts",
  "test/stages/credentials-stage.test.ts",
  "test/stages/hash-stage.test.ts",
  "test/stages/index-segments.test.ts",
  "test/stages/index-stage.test.ts",
  "test/stages/index-credentials.test.ts",
  "test/stages/segment-join.test.ts",
  "test/stages/thumbnail-stage.test.ts",
  "test/stages/transcode-segments.test.ts",
  "test/stages/transcode-stage.test.ts",
];

const E2E = [
  "test/chaos/",
  "test/cli/",
  "test/events/evidence-events.test.ts",
  "test/examples/downstream-consumer.test.ts",
  "test/functions/reconcile-timer.test.ts",
  "test/local/azurite-debug-log.test.ts",
  "test/local/fault-proxied-stack.test.ts",
  "test/package/cli-package.test.ts",
  "test/pipeline/",
  "test/stages/reconcile-stage.test.ts",
];

module.exports = { INTEGRATION, E2E };
