/**
 * The pure parts of the long hash bench: the generated originals are deterministic and never
 * repeat a MiB, the throughput meter cuts windows at the right byte counts and flags a run that
 * slows down, and the Azure projection takes the slower of reading and hashing.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { projectAzureSeconds } from "../../bench/hash";
import { generatedChunks, generatedPattern, generatedSha256 } from "../../bench/support/generated";
import { GiB, MiB } from "../../bench/support/sizes";
import { drain } from "../../bench/support/streams";
import { summarizeRates, ThroughputMeter } from "../../bench/support/throughput";

describe("generated originals", () => {
  it("yields exactly the size asked for, no two MiB alike, the same bytes for the same pattern", () => {
    const pattern = generatedPattern();
    const bytes = 3 * MiB + 5;
    const chunks = [...generatedChunks(bytes, pattern)];
    expect(chunks.map((c) => c.length)).toEqual([MiB, MiB, MiB, 5]);
    const digests = chunks.slice(0, 3).map((c) => createHash("sha256").update(c).digest("hex"));
    expect(new Set(digests).size).toBe(3);
    const whole = createHash("sha256");
    for (const chunk of generatedChunks(bytes, pattern)) whole.update(chunk);
    const reference = whole.digest("hex");
    expect(generatedSha256(bytes, pattern)).toBe(reference);
    expect(generatedSha256(bytes, generatedPattern())).not.toBe(reference);
  });
});

describe("ThroughputMeter", () => {
  it("cuts a window at every windowBytes boundary and a short last one, counting every byte", async () => {
    const meter = new ThroughputMeter(10);
    meter.start();
    const source = Readable.from([Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(13), Buffer.alloc(2)]);
    expect(await drain(meter.through(source))).toBe(27);
    expect(meter.windows().map((w) => [w.fromBytes, w.bytes])).toEqual([
      [0, 10],
      [10, 10],
      [20, 7],
    ]);
    expect(meter.summary().windows).toBe(3);
  });

  it("passes a source's error on to the reader", async () => {
    const meter = new ThroughputMeter(10);
    const source = new Readable({ read: () => undefined });
    const metered = meter.through(source);
    const drained = drain(metered);
    source.destroy(new Error("connection reset"));
    await expect(drained).rejects.toThrow("connection reset");
  });
});

describe("summarizeRates", () => {
  it("is 1 for a steady run and below 1 for one that slows down", () => {
    expect(summarizeRates(GiB, 8, [100, 100, 100, 100, 100, 100, 100, 100]).lastOverFirstQuarter).toBe(1);
    const slowing = summarizeRates(GiB, 8, [200, 200, 180, 160, 140, 120, 100, 100]);
    expect(slowing.lastOverFirstQuarter).toBe(0.5);
    expect(slowing.minMiBPerSecond).toBe(100);
    expect(slowing.maxMiBPerSecond).toBe(200);
    expect(slowing.coefficientOfVariation).toBeGreaterThan(0.2);
  });
});

describe("projectAzureSeconds", () => {
  const base = { bytes: 20 * GiB, stageCpuSecondsPerGiB: 3, mainThreadCpuSecondsPerGiB: 1, cores: 2 };

  it("is bound by reading when the assumed read rate is the slower", () => {
    const p = projectAzureSeconds({ ...base, assumedReadMiBPerSecond: 100 });
    expect(p.readBoundSeconds).toBeCloseTo(204.8);
    expect(p.cpuBoundSeconds).toBeCloseTo(30); // 20 GiB × max(1, 3 / 2)
    expect(p).toMatchObject({ expectedSeconds: p.readBoundSeconds, boundBy: "read" });
  });

  it("is bound by the main thread when one core cannot keep up, whatever the other core does", () => {
    const p = projectAzureSeconds({ ...base, mainThreadCpuSecondsPerGiB: 2, stageCpuSecondsPerGiB: 2.5, assumedReadMiBPerSecond: 1000 });
    expect(p.cpuBoundSeconds).toBeCloseTo(40);
    expect(p.boundBy).toBe("cpu");
  });
});
