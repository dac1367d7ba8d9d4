import { ServiceBusClient } from "@azure/service-bus";
import { startServiceBusEmulator } from "../local/servicebus-emulator";
import { emulatorConfig } from "../test/servicebus-emulator/harness";
test("sched", async () => {
  const emu = await startServiceBusEmulator({ config: emulatorConfig({ queues: [{ name: "s" }] }), log: (l) => console.log("EMU", l) });
  const client = new ServiceBusClient(emu.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 3000 } });
  const sender = client.createSender("s");
  try { console.log(await sender.scheduleMessages([{ body: "keep" }], new Date(Date.now() + 500))); } catch (e) { console.log("ERR", e); }
  await client.close(); await emu.close();
});
afterAll(async () => {
  await new Promise((r) => setTimeout(r, 200));
  const handles = (process as any)._getActiveHandles();
  console.log("HANDLES", handles.map((h: any) => h.constructor?.name + " " + (h._idleTimeout ?? "") + " " + (h._onTimeout?.toString().slice(0, 200) ?? "")));
});
