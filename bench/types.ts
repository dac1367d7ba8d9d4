/**
 * The shape every benchmark section shares, so `bench/index.ts` can run them all and print
 * their tables one after the other. A section is `{ name, run() }`; its result carries
 * tables for people and a plain `data` object for `--json`.
 */
import * as os from "node:os";
import { textTable } from "../shared/text/table";

export interface BenchTable {
  title: string;
  columns: string[];
  /** Cells: numbers are formatted (thousands separators, 2 decimals below 10); null prints as "–". */
  rows: Array<Array<string | number | null>>;
}

export interface BenchResult {
  /** Section name, also its key in the `--json` output. */
  name: string;
  tables: BenchTable[];
  /** Lines printed under the tables (method, caveats). */
  notes: string[];
  /** Machine-readable figures. */
  data: Record<string, unknown>;
}

export interface BenchSection {
  name: string;
  run(): Promise<BenchResult>;
}

export function formatCell(cell: string | number | null): string {
  if (cell === null) return "–";
  if (typeof cell === "string") return cell;
  if (!Number.isFinite(cell)) return String(cell);
  if (!Number.isInteger(cell) && Math.abs(cell) < 10) return cell.toFixed(2);
  return Math.round(cell).toLocaleString("en-US");
}

export function formatTable(table: BenchTable): string {
  return `${table.title}\n${textTable(
    table.columns,
    table.rows.map((row) => row.map(formatCell)),
    { rule: true },
  )}`;
}

export function formatResult(result: BenchResult): string {
  const parts = [`== ${result.name} ==`, ...result.tables.map(formatTable)];
  if (result.notes.length > 0) parts.push(result.notes.map((note) => `  * ${note}`).join("\n"));
  return parts.join("\n\n");
}

/** Host facts printed with every run, so figures can be read against the machine. */
export function environment(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    totalMemoryMiB: Math.round(os.totalmem() / 1024 / 1024),
  };
}
