/** The one error type of the emulator's configuration reader. */

/**
 * Every problem with a configuration. `field` is the JSON path of the offending value
 * (`UserConfig.Namespaces[0].Queues[2].Properties.LockDuration`), empty for problems with the
 * document as a whole (unreadable file, JSON syntax); `file` is set when the config came from
 * loadEmulatorConfigFile. The message always starts with the file (if any) and the field.
 */
export class ConfigError extends Error {
  readonly code = "InvalidConfig" as const;
  readonly field: string;
  /** The problem without the file and field prefix. */
  readonly detail: string;
  readonly file?: string;

  constructor(field: string, detail: string, file?: string) {
    super([file, field, detail].filter((part) => part).join(": "));
    this.name = "ConfigError";
    this.field = field;
    this.detail = detail;
    if (file !== undefined) this.file = file;
  }
}

/** Throws a ConfigError for `field`. */
export function fail(field: string, detail: string): never {
  throw new ConfigError(field, detail);
}
