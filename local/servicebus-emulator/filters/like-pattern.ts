/**
 * Translation of SQL LIKE patterns to regular expressions, done once per filter at compile time.
 *
 * Per the docs, `%` is any run of zero or more characters, `_` any single character, and an
 * optional one-character escape makes the following character literal (`'ABC\%' ESCAPE '\'`
 * matches "ABC%"). The docs name no other wildcards, so `[`...`]` character sets from T-SQL are
 * ordinary characters here. Matching is case-sensitive: the docs say operators follow C#
 * semantics, and C# string matching is ordinal; the docs state no case-insensitive collation.
 *
 * "Character" is a UTF-16 code unit, as in .NET strings, hence no `u` flag.
 */

const REGEXP_METACHARACTERS = /[\\^$.*+?()[\]{}|/-]/g;

function escapeRegExp(text: string): string {
  return text.replace(REGEXP_METACHARACTERS, "\\$&");
}

export class LikePatternError extends Error {}

/** An anchored RegExp equivalent to `value LIKE pattern [ESCAPE escape]`. */
export function likePatternToRegExp(pattern: string, escape?: string): RegExp {
  if (escape !== undefined && escape.length !== 1) {
    throw new LikePatternError(`the ESCAPE character must be a string of length 1, not '${escape}'`);
  }
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === escape) {
      i++;
      if (i === pattern.length) {
        throw new LikePatternError(`the LIKE pattern '${pattern}' ends with its escape character '${escape}'`);
      }
      source += escapeRegExp(pattern[i]);
    } else if (char === "%") {
      source += "[\\s\\S]*";
    } else if (char === "_") {
      source += "[\\s\\S]";
    } else {
      source += escapeRegExp(char);
    }
  }
  return new RegExp(`^${source}$`);
}
