/**
 * Reading and writing application (user) properties by SQL name. The SQL filter docs say
 * "Property names are case-insensitive", while AMQP application-property keys are ordinary
 * case-sensitive map keys; so a name finds the key spelled exactly that way if there is one,
 * and otherwise the first key equal to it ignoring case.
 */

/** A property name prepared once at compile time for the per-message lookups. */
export class ApplicationPropertyName {
  private readonly lowerCase: string;

  constructor(readonly name: string) {
    this.lowerCase = name.toLowerCase();
  }

  /** The key this name refers to in `properties`, if any. */
  findKey(properties: Record<string, unknown>): string | undefined {
    if (Object.hasOwn(properties, this.name)) return this.name;
    for (const key of Object.keys(properties)) {
      if (key.toLowerCase() === this.lowerCase) return key;
    }
    return undefined;
  }

  /** The value, or undefined when there is no such property. */
  read(properties: Record<string, unknown>): unknown {
    const key = this.findKey(properties);
    return key === undefined ? undefined : properties[key];
  }

  /** Overwrites the existing property (keeping its spelling) or adds one spelled as written. */
  write(properties: Record<string, unknown>, value: unknown): void {
    const key = this.findKey(properties) ?? this.name;
    // defineProperty, not assignment, so a property called "__proto__" is just a property.
    Object.defineProperty(properties, key, { value, writable: true, enumerable: true, configurable: true });
  }

  remove(properties: Record<string, unknown>): void {
    const key = this.findKey(properties);
    if (key !== undefined) delete properties[key];
  }
}
