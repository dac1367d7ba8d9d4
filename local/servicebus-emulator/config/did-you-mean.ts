/**
 * The "did you mean" hint for an unknown Config.json key (a typo such as "LockDuraton" must not
 * silently take the default). The edit distance is the textbook two-row Levenshtein, kept here
 * rather than taken from a library: `leven` and `fast-levenshtein` are in node_modules only as
 * other packages' dependencies (adding one as our own would be a new runtime dependency of the
 * emulator for a dozen lines), and leven's current major is ESM-only while this project builds
 * CommonJS. Pure.
 */

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** ` (did you mean "X"?)` for the allowed key closest to `key`, or "" when none is close. */
export function suggestion(key: string, allowed: readonly string[]): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const other = candidate.toLowerCase();
    // A truncated key ("Sql" for "SqlExpression") counts as close, whatever its length.
    const distance = other === lower ? 0 : other.startsWith(lower) || lower.startsWith(other) ? 1 : editDistance(lower, other);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${best}"?)` : "";
}
