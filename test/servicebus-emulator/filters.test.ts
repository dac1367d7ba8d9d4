import { readFileSync } from "node:fs";
import { type FilterableMessage, FilterError, compileCorrelationFilter, compileRule, compileRuleFilter, compileSqlFilter, compileSqlRuleAction } from "../../local/servicebus-emulator/filters";

function message(applicationProperties: Record<string, unknown> = {}, systemProperties: Record<string, unknown> = {}): FilterableMessage {
  return { applicationProperties, systemProperties };
}

const matches = (expression: string, msg: FilterableMessage = message()): boolean => compileSqlFilter(expression).matches(msg);

/** The compile error's message, failing the test if compilation succeeds. */
function compileError(compile: () => unknown): FilterError {
  try {
    compile();
  } catch (error) {
    expect(error).toBeInstanceOf(FilterError);
    return error as FilterError;
  }
  throw new Error("expected a FilterError");
}

describe("grammar generation", () => {
  it("the committed parser is the one peggy generates from sql.peggy (run scripts/generate-sql-parser.js after editing the grammar)", () => {
    const generator = require("../../scripts/generate-sql-parser") as { generatedParserSource(): string; PARSER_FILE: string };
    expect(readFileSync(generator.PARSER_FILE, "utf8") === generator.generatedParserSource()).toBe(true);
  });

  it("parsing a filter does not load peggy (a build-time tool only)", () => {
    jest.isolateModules(() => {
      jest.doMock("peggy", () => {
        throw new Error("peggy was loaded at run time");
      });
      const filters = require("../../local/servicebus-emulator/filters") as typeof import("../../local/servicebus-emulator/filters");
      expect(filters.compileSqlFilter("a = 1").matches(message({ a: 1 }))).toBe(true);
      expect(() => filters.compileSqlFilter("a =")).toThrow(/expected expression but end of input found/);
    });
  });
});

describe("SQL filter: comparison operators", () => {
  const msg = message({ n: 5, s: "beta", f: 2.5, b: true });

  it.each([
    ["n = 5", true],
    ["n = 6", false],
    ["n <> 6", true],
    ["n != 5", false],
    ["n < 6", true],
    ["n < 5", false],
    ["n <= 5", true],
    ["n > 4", true],
    ["n > 5", false],
    ["n >= 5", true],
    ["s = 'beta'", true],
    ["s = 'Beta'", false], // ordinal, case-sensitive
    ["s <> 'alpha'", true],
    ["s > 'alpha'", true],
    ["s < 'alpha'", false],
    ["s >= 'beta'", true],
    ["'B' < 'a'", true], // ordinal: uppercase sorts before lowercase
    ["b = TRUE", true],
    ["b = false", false],
    ["b <> FALSE", true],
    ["b > FALSE", false], // booleans only compare for (in)equality
    ["f = 2.5", true],
    ["f > 2", true],
  ])("%s → %s", (expression, expected) => {
    expect(matches(expression, msg)).toBe(expected);
  });

  it("compares numbers by value across integer and floating types", () => {
    expect(matches("n = 5.0", msg)).toBe(true);
    expect(matches("n = 5e0", msg)).toBe(true);
    expect(matches("big = 9007199254740993", message({ big: 9007199254740993n }))).toBe(true);
    expect(matches("big > 1", message({ big: 12n }))).toBe(true);
  });

  it("compares dates by instant", () => {
    const msg2 = message({ a: new Date("2024-01-01T00:00:00Z"), b: new Date("2024-01-02T00:00:00Z"), c: new Date("2024-01-01T00:00:00Z") });
    expect(matches("a < b", msg2)).toBe(true);
    expect(matches("a = c", msg2)).toBe(true);
    expect(matches("a > b", msg2)).toBe(false);
  });

  it("treats string-vs-number and other type mismatches as unknown, never as an error", () => {
    const msg2 = message({ n: 5, s: "5" });
    expect(matches("s = 5", msg2)).toBe(false);
    expect(matches("NOT (s = 5)", msg2)).toBe(false); // unknown, not FALSE
    expect(matches("s <> 5", msg2)).toBe(false);
    expect(matches("n = '5'", msg2)).toBe(false);
    expect(matches("n = TRUE", msg2)).toBe(false);
  });
});

describe("SQL filter: three-valued logic with missing properties", () => {
  const msg = message({ present: 1 });

  it("a comparison with a missing property is unknown, and so is its negation", () => {
    expect(matches("missing = 1", msg)).toBe(false);
    expect(matches("missing <> 1", msg)).toBe(false);
    expect(matches("NOT missing = 1", msg)).toBe(false);
    expect(matches("NOT (missing = 1)", msg)).toBe(false);
  });

  it("AND: FALSE dominates unknown", () => {
    expect(matches("NOT (missing = 1 AND present = 2)", msg)).toBe(true); // U AND F = F
    expect(matches("NOT (missing = 1 AND present = 1)", msg)).toBe(false); // U AND T = U
    expect(matches("present = 1 AND present = 1", msg)).toBe(true);
  });

  it("OR: TRUE dominates unknown", () => {
    expect(matches("missing = 1 OR present = 1", msg)).toBe(true); // U OR T = T
    expect(matches("missing = 1 OR present = 2", msg)).toBe(false); // U OR F = U
    expect(matches("NOT (missing = 1 OR present = 2)", msg)).toBe(false);
  });

  it("comparing with NULL is unknown (use IS NULL)", () => {
    expect(matches("present = NULL", msg)).toBe(false);
    expect(matches("NOT (present = NULL)", msg)).toBe(false);
    expect(matches("nul = NULL", message({ nul: null }))).toBe(false);
  });

  it("arithmetic with a missing operand is unknown", () => {
    expect(matches("missing + 1 = 1", msg)).toBe(false);
    expect(matches("NOT (missing + 1 = 1)", msg)).toBe(false);
    expect(matches("-missing = 0", msg)).toBe(false);
  });

  it("a missing broker property reads as NULL", () => {
    expect(matches("sys.ReplyTo = 'x'", msg)).toBe(false);
    expect(matches("sys.ReplyTo IS NULL", msg)).toBe(true);
  });
});

describe("SQL filter: logical operators and precedence", () => {
  const msg = message({ a: 1, b: 2 });

  it("AND binds tighter than OR, NOT tighter than AND", () => {
    expect(matches("a = 1 OR a = 2 AND b = 3", msg)).toBe(true);
    expect(matches("(a = 1 OR a = 2) AND b = 3", msg)).toBe(false);
    expect(matches("NOT a = 2 AND b = 2", msg)).toBe(true);
    expect(matches("NOT (a = 1 AND b = 3)", msg)).toBe(true);
    expect(matches("NOT NOT a = 1", msg)).toBe(true);
  });

  it("parenthesized predicates and parenthesized expressions both work", () => {
    expect(matches("((a = 1))", msg)).toBe(true);
    expect(matches("(a + b) * 2 = 6", msg)).toBe(true);
    expect(matches("((a + b) * 2 = 6) AND (b - a = 1)", msg)).toBe(true);
  });

  it("literal-only filters work, e.g. the TrueFilter's 1=1", () => {
    expect(matches("1=1")).toBe(true);
    expect(matches("1=0")).toBe(false);
    expect(matches("'a' = 'a'")).toBe(true);
  });
});

describe("SQL filter: keywords and names", () => {
  const msg = message({ Color: "red", "my-prop": "x", "with space": 1, "a]b": 2, 'q"t': 3, "Contoso & Northwind": 4, sys: "s" }, { Label: "important", MessageId: "m-1", SequenceNumber: 42 });

  it("keywords are case-insensitive", () => {
    expect(matches("color = 'red' and NOT color = 'blue' oR false = true", msg)).toBe(true);
    expect(matches("color In ('red') AnD color nOt LiKe 'b%' and missing iS nUlL aNd exists(color)", msg)).toBe(true);
    expect(matches("True = tRUE", msg)).toBe(true);
  });

  it("sys names are case-insensitive", () => {
    expect(matches("sys.Label = 'important'", msg)).toBe(true);
    expect(matches("sys.label = 'important'", msg)).toBe(true);
    expect(matches("SYS.LABEL = 'important'", msg)).toBe(true);
    expect(matches("sys.messageid = 'm-1'", msg)).toBe(true);
    expect(matches("sys.MessageId = 'm-1'", msg)).toBe(true);
    expect(matches("sys.sequencenumber > 41", msg)).toBe(true);
  });

  it("accepts sys.Subject as the SDK spelling of sys.Label", () => {
    expect(matches("sys.Subject = 'important'", msg)).toBe(true);
  });

  it("application property names are case-insensitive (docs), preferring an exact match", () => {
    expect(matches("Color = 'red'", msg)).toBe(true);
    expect(matches("color = 'red'", msg)).toBe(true);
    expect(matches("user.COLOR = 'red'", msg)).toBe(true);
    const both = message({ k: "lower", K: "upper" });
    expect(matches("k = 'lower'", both)).toBe(true);
    expect(matches("K = 'upper'", both)).toBe(true);
  });

  it("user. scope and bare names both address application properties", () => {
    expect(matches("user.Color = 'red'", msg)).toBe(true);
    expect(matches("Color = 'red'", msg)).toBe(true);
    expect(matches("sys = 's'", msg)).toBe(true); // "sys" alone is an ordinary property name
  });

  it("bracketed and double-quoted identifiers", () => {
    expect(matches("[my-prop] = 'x'", msg)).toBe(true);
    expect(matches("user.[my-prop] = 'x'", msg)).toBe(true);
    expect(matches("[with space] = 1", msg)).toBe(true);
    expect(matches("[a]]b] = 2", msg)).toBe(true);
    expect(matches('"q""t" = 3', msg)).toBe(true);
    expect(matches('"Contoso & Northwind" = 4', msg)).toBe(true);
    expect(matches("sys.[Label] = 'important'", msg)).toBe(true);
    expect(matches("[and] IS NULL", msg)).toBe(true); // a keyword is fine as a bracketed name
  });

  it("unicode letters in identifiers", () => {
    expect(matches("größe = 3", message({ größe: 3 }))).toBe(true);
  });
});

describe("SQL filter: literals", () => {
  it("strings with doubled quotes", () => {
    expect(matches("s = 'it''s'", message({ s: "it's" }))).toBe(true);
    expect(matches("s = ''", message({ s: "" }))).toBe(true);
  });

  it("integers, decimals and scientific notation", () => {
    const msg = message({ n: 1050, d: 0.005 });
    expect(matches("n = 1050", msg)).toBe(true);
    expect(matches("n = 1050.0", msg)).toBe(true);
    expect(matches("n = 10.5E2", msg)).toBe(true);
    expect(matches("d = 0.5E-2", msg)).toBe(true);
    expect(matches("d = .5e-2", msg)).toBe(true);
    expect(matches("n = -(-1050)", msg)).toBe(true);
  });
});

describe("SQL filter: arithmetic", () => {
  const msg = message({ a: 7, b: 2, f: 1.5, s: "ab" });

  it.each([
    ["a + b = 9", true],
    ["a - b = 5", true],
    ["a * b = 14", true],
    ["a % b = 1", true],
    ["-a % b = -1", true], // remainder keeps the dividend's sign, as in C#
    ["a + b * 2 = 11", true], // * before +
    ["(a + b) * 2 = 18", true],
    ["a - b - 1 = 4", true], // left-associative
    ["-a = -7", true],
    ["+a = 7", true],
    ["- - a = 7", true],
    ["f * 2 = 3", true],
    ["s + 'c' = 'abc'", true], // string concatenation
    ["s + 1 = 'ab1'", false], // no implicit number-to-string
  ])("%s → %s", (expression, expected) => {
    expect(matches(expression, msg)).toBe(expected);
  });

  it("integer division truncates (C# long / long), double division does not", () => {
    expect(matches("a / b = 3", msg)).toBe(true);
    expect(matches("-a / b = -3", msg)).toBe(true);
    expect(matches("a / 2.0 = 3.5", msg)).toBe(true);
    expect(matches("a / f > 4.6", msg)).toBe(true);
    expect(matches("7 / 2 = 3", msg)).toBe(true);
    expect(matches("7.0 / 2 = 3.5", msg)).toBe(true);
  });

  it("integer division by zero is unknown, not an error", () => {
    expect(matches("a / 0 = 0", msg)).toBe(false);
    expect(matches("NOT (a / 0 = 0)", msg)).toBe(false);
    expect(matches("a % 0 = 0", msg)).toBe(false);
  });

  it("arithmetic on non-numbers is unknown", () => {
    expect(matches("s * 2 = 0", msg)).toBe(false);
    expect(matches("NOT (s * 2 = 0)", msg)).toBe(false);
    expect(matches("-s = 0", msg)).toBe(false);
  });
});

describe("SQL filter: IN / NOT IN", () => {
  const msg = message({ store: "Store2", n: 3 }, { To: "Store6" });

  it("matches when the value is in the list", () => {
    expect(matches("store IN ('Store1', 'Store2', 'Store3')", msg)).toBe(true);
    expect(matches("store IN('Store1')", msg)).toBe(false);
    expect(matches("sys.To IN ('Store5','Store6','Store7') OR StoreId = 'Store8'", msg)).toBe(true);
    expect(matches("n IN (1, 2, 3)", msg)).toBe(true);
    expect(matches("n IN (3.0)", msg)).toBe(true);
    expect(matches("n IN (1 + 2)", msg)).toBe(true);
  });

  it("NOT IN", () => {
    expect(matches("store NOT IN ('Store1', 'Store3')", msg)).toBe(true);
    expect(matches("store NOT IN ('Store1', 'Store2')", msg)).toBe(false);
    expect(matches("n NOT IN (1, 2)", msg)).toBe(true);
  });

  it("a missing left operand is unknown for both IN and NOT IN", () => {
    expect(matches("missing IN ('a')", msg)).toBe(false);
    expect(matches("missing NOT IN ('a')", msg)).toBe(false);
  });

  it("a NULL or mismatched item makes a non-match unknown, but a match is still TRUE", () => {
    expect(matches("store IN ('Store2', NULL)", msg)).toBe(true);
    expect(matches("store NOT IN ('x', NULL)", msg)).toBe(false);
    expect(matches("n IN ('3', 3)", msg)).toBe(true);
    expect(matches("n NOT IN ('a', 'b')", msg)).toBe(false);
  });

  it("list items may reference properties", () => {
    expect(matches("n IN (other, 3)", message({ n: 3 }))).toBe(true);
    expect(matches("n IN (other)", message({ n: 3, other: 3 }))).toBe(true);
  });
});

describe("SQL filter: LIKE", () => {
  const like = (value: unknown, pattern: string) => matches(`v LIKE ${pattern}`, message({ v: value }));

  it("% matches any run of characters, _ exactly one", () => {
    expect(like("order-17", "'order-%'")).toBe(true);
    expect(like("order-", "'order-%'")).toBe(true);
    expect(like("my order-17", "'order-%'")).toBe(false); // anchored
    expect(like("abc", "'%b%'")).toBe(true);
    expect(like("abc", "'a_c'")).toBe(true);
    expect(like("ac", "'a_c'")).toBe(false);
    expect(like("abbc", "'a_c'")).toBe(false);
    expect(like("line1\nline2", "'line1%'")).toBe(true); // % crosses newlines
    expect(like("a\nc", "'a_c'")).toBe(true);
  });

  it("is case-sensitive", () => {
    expect(like("Bus", "'bus'")).toBe(false);
    expect(like("Bus", "'Bus'")).toBe(true);
  });

  it("treats regex metacharacters in the pattern literally", () => {
    expect(like("a.c", "'a.c'")).toBe(true);
    expect(like("abc", "'a.c'")).toBe(false);
    expect(like("(x)+[y]*?^$|{1}\\/", "'(x)+[y]*?^$|{1}\\/'")).toBe(true);
    expect(like("x", "'[xyz]'")).toBe(false); // no T-SQL character sets
    expect(like("a-b", "'a-b'")).toBe(true);
  });

  it("ESCAPE makes the next wildcard literal", () => {
    expect(like("ABC%", "'ABC\\%' ESCAPE '\\'")).toBe(true);
    expect(like("ABCD", "'ABC\\%' ESCAPE '\\'")).toBe(false);
    expect(like("50%", "'50!%' ESCAPE '!'")).toBe(true);
    expect(like("a_b", "'a!_b' ESCAPE '!'")).toBe(true);
    expect(like("axb", "'a!_b' ESCAPE '!'")).toBe(false);
    expect(like("a!b", "'a!!b' ESCAPE '!'")).toBe(true);
    expect(like("50% off", "'%!%%' ESCAPE '!'")).toBe(true);
  });

  it("NOT LIKE", () => {
    expect(matches("v NOT LIKE 'a%'", message({ v: "bcd" }))).toBe(true);
    expect(matches("v NOT LIKE 'b%'", message({ v: "bcd" }))).toBe(false);
  });

  it("a missing or non-string operand is unknown for LIKE and NOT LIKE", () => {
    expect(matches("v LIKE '%'", message())).toBe(false);
    expect(matches("v NOT LIKE 'x%'", message())).toBe(false);
    expect(like(5, "'5'")).toBe(false);
    expect(matches("v NOT LIKE 'x'", message({ v: 5 }))).toBe(false);
  });

  it("works on system properties (docs example)", () => {
    const msg = message({ tag: "queue" }, { Label: "service bus" });
    expect(matches("sys.Label LIKE '%bus%'", msg)).toBe(true);
    expect(matches("sys.Label LIKE '%bus%' OR user.tag IN ('queue', 'topic', 'subscription')", msg)).toBe(true);
  });
});

describe("SQL filter: IS [NOT] NULL and EXISTS", () => {
  const msg = message({ present: "x", nul: null }, { ReplyTo: "q", CorrelationId: undefined });

  it("IS NULL is true for a missing or null property, and never unknown", () => {
    expect(matches("missing IS NULL", msg)).toBe(true);
    expect(matches("nul IS NULL", msg)).toBe(true);
    expect(matches("present IS NULL", msg)).toBe(false);
    expect(matches("NOT present IS NULL", msg)).toBe(true);
  });

  it("IS NOT NULL", () => {
    expect(matches("present IS NOT NULL", msg)).toBe(true);
    expect(matches("missing IS NOT NULL", msg)).toBe(false);
    expect(matches("nul IS NOT NULL", msg)).toBe(false);
    expect(matches("sys.ReplyTo IS NOT NULL", msg)).toBe(true);
    expect(matches("sys.CorrelationId IS NULL", msg)).toBe(true);
  });

  it("EXISTS on application properties (a null value still exists)", () => {
    expect(matches("EXISTS(present)", msg)).toBe(true);
    expect(matches("EXISTS (user.present)", msg)).toBe(true);
    expect(matches("EXISTS(PRESENT)", msg)).toBe(true);
    expect(matches("EXISTS(nul)", msg)).toBe(true);
    expect(matches("EXISTS(missing)", msg)).toBe(false);
    expect(matches("NOT EXISTS(missing)", msg)).toBe(true);
  });

  it("EXISTS on system properties", () => {
    expect(matches("EXISTS(sys.ReplyTo)", msg)).toBe(true);
    expect(matches("EXISTS(sys.replyto)", msg)).toBe(true);
    expect(matches("EXISTS(sys.To)", msg)).toBe(false);
    expect(matches("EXISTS(sys.CorrelationId)", msg)).toBe(false);
  });
});

describe("SQL filter: functions and parameters", () => {
  it("property(name) and p(name) read a property named by an expression", () => {
    const msg = message({ color: "red", which: "color" }, { Label: "l" });
    expect(matches("property('color') = 'red'", msg)).toBe(true);
    expect(matches("P('color') = 'red'", msg)).toBe(true);
    expect(matches("property(which) = 'red'", msg)).toBe(true);
    expect(matches("property('sys.Label') = 'l'", msg)).toBe(true);
    expect(matches("property('user.color') = 'red'", msg)).toBe(true);
    expect(matches("property('nope') IS NULL", msg)).toBe(true);
    expect(matches("property('sys.Nope') IS NULL", msg)).toBe(true);
  });

  it("newid() returns a fresh GUID string", () => {
    expect(matches("newid() LIKE '________-____-____-____-____________'")).toBe(true);
    expect(matches("NEWID() <> newid()")).toBe(true);
  });

  it("@parameters take their values from the parameters argument", () => {
    const filter = compileSqlFilter("color = @color AND n > @min", { "@color": "red", min: 2 });
    expect(filter.matches(message({ color: "red", n: 3 }))).toBe(true);
    expect(filter.matches(message({ color: "red", n: 2 }))).toBe(false);
  });
});

describe("SQL filter: matches never throws", () => {
  it("for odd values and odd property bags", () => {
    const filter = compileSqlFilter("a + 1 > 2 AND b LIKE 'x%' AND c IN (1, 'x') AND d = sys.Label");
    const odd = [
      message({ a: {}, b: 1, c: [1], d: Symbol("s") }),
      message({ a: Buffer.from("x"), b: null, c: new Date(NaN), d: undefined }),
      message({ a: Object.create(null) as object, b: Number.NaN, c: 1n, d: () => 1 }),
      message({ a: 1 }, { Label: {} }),
    ];
    for (const msg of odd) expect(() => filter.matches(msg)).not.toThrow();
  });

  it("for a property getter that throws", () => {
    const props = {};
    Object.defineProperty(props, "a", {
      enumerable: true,
      get: () => {
        throw new Error("boom");
      },
    });
    expect(compileSqlFilter("a = 1").matches(message(props))).toBe(false);
  });

  it("NaN compares false", () => {
    expect(matches("n = n", message({ n: Number.NaN }))).toBe(false);
    expect(matches("n <> 1", message({ n: Number.NaN }))).toBe(true);
  });
});

describe("SQL filter: errors", () => {
  it.each([
    ["sys.Label = ", "Invalid SQL filter at line 1, column 13: expected expression but end of input found", 1, 13],
    ["a = 'abc", "Invalid SQL filter at line 1, column 5: unterminated string constant", 1, 5],
    ["color = 'red' AND\n  size > ", "Invalid SQL filter at line 2, column 10: expected expression but end of input found", 2, 10],
    ["a = 1 b", 'Invalid SQL filter at line 1, column 7: expected "AND", "OR", arithmetic operator, or end of input but "b" found', 1, 7],
    ["", 'Invalid SQL filter at line 1, column 1: expected "(", "EXISTS", "NOT", or expression but end of input found', 1, 1],
  ])("%j", (expression, expected, line, column) => {
    const error = compileError(() => compileSqlFilter(expression));
    expect(error.message).toBe(expected);
    expect(error.code).toBe("InvalidSqlFilter");
    expect(error.position).toEqual({ line, column });
  });

  it.each([
    ["foo(1) = 2", /column 1: unknown function 'foo'/],
    ["a = upper('x')", /column 5: unknown function 'upper'/],
    ["newid(1) = 1", /newid\(\) takes no arguments/],
    ["property() = 1", /property\(\) takes exactly one argument/],
    ["a LIKE 5", /column 3: the LIKE pattern must be a string constant, not number 5/],
    ["a LIKE b", /the LIKE pattern must be a string constant/],
    ["a LIKE NULL", /the LIKE pattern must be a string constant, not NULL/],
    ["a LIKE 'x' ESCAPE '!!'", /the ESCAPE character must be a string of length 1/],
    ["a LIKE 'x!' ESCAPE '!'", /ends with its escape character/],
    ["sys.Nope = 1", /column 1: unknown system property 'sys.Nope'/],
    ["EXISTS(1)", /column 8: expected property but "1" found/],
    ["a = 99999999999999999999", /integer constant 99999999999999999999 is out of the Int64 range/],
    ["[abc = 1", /unterminated \[delimited identifier\]/],
    ["(a = 1", /expected "\)"/],
    ["a IN ()", /expected expression but "\)" found/],
    ["a = @p", /parameter @p has no value/],
    ["a == 1", /expected expression but "=" found/],
    ["sys. = 1", /expected property name/],
    ["AND = 1", /expected .* but "A" found/],
  ])("%j → %s", (expression, pattern) => {
    const error = compileError(() => compileSqlFilter(expression));
    expect(error.code).toBe("InvalidSqlFilter");
    expect(error.message).toMatch(/^Invalid SQL filter at line \d+, column \d+: /);
    expect(error.message).toMatch(pattern);
  });
});

describe("SQL rule actions", () => {
  it("SET a system property", () => {
    const msg = message({}, { Label: "old" });
    compileSqlRuleAction("SET sys.Label = 'new'").apply(msg);
    expect(msg.systemProperties.Label).toBe("new");
  });

  it("SET each settable system property, by any spelling", () => {
    const msg = message();
    compileSqlRuleAction(
      "SET sys.label = 'l'; SET sys.TO = 't'; SET sys.ReplyTo = 'r'; SET sys.CorrelationId = 'c'; " +
        "SET sys.ContentType = 'ct'; SET sys.SessionId = 's'; SET sys.ReplyToSessionId = 'rs'; SET sys.MessageId = 'm'",
    ).apply(msg);
    expect(msg.systemProperties).toEqual({
      Label: "l",
      To: "t",
      ReplyTo: "r",
      CorrelationId: "c",
      ContentType: "ct",
      SessionId: "s",
      ReplyToSessionId: "rs",
      MessageId: "m",
    });
  });

  it("SET a system property from an expression converts it to text; NULL clears it", () => {
    const msg = message({ n: 4 }, { Label: "x", To: "y" });
    compileSqlRuleAction("SET sys.Label = n * 2; SET sys.To = NULL").apply(msg);
    expect(msg.systemProperties).toEqual({ Label: "8" });
  });

  it("SET updates an existing application property from its own value", () => {
    const msg = message({ count: 1 });
    const action = compileSqlRuleAction("SET count = count + 1");
    action.apply(msg);
    action.apply(msg);
    expect(msg.applicationProperties.count).toBe(3);
  });

  it("SET creates a new property, and keeps an existing property's spelling", () => {
    const msg = message({ Color: "red" });
    compileSqlRuleAction("SET newProp = 'v'; SET color = 'blue'; SET [odd-name] = sys.Label").apply(msg);
    expect(msg.applicationProperties).toEqual({ Color: "blue", newProp: "v", "odd-name": null });
  });

  it("SET with an unknown value stores NULL", () => {
    const msg = message();
    compileSqlRuleAction("SET x = missing + 1").apply(msg);
    expect(msg.applicationProperties).toEqual({ x: null });
  });

  it("REMOVE application and system properties; removing a missing one is harmless", () => {
    const msg = message({ keep: 1, Drop: 2 }, { Label: "l", To: "t" });
    compileSqlRuleAction("REMOVE drop; REMOVE missing; REMOVE sys.Label").apply(msg);
    expect(msg.applicationProperties).toEqual({ keep: 1 });
    expect(msg.systemProperties).toEqual({ To: "t" });
  });

  it("statements run in order, separated by ';' or whitespace, with an optional trailing ';'", () => {
    const msg = message({ quantity: 5, priority: "high" });
    compileSqlRuleAction("SET quantity = quantity / 2; REMOVE priority;SET sys.CorrelationId = 'low';").apply(msg);
    expect(msg.applicationProperties).toEqual({ quantity: 2 }); // integer division, as in the service
    expect(msg.systemProperties).toEqual({ CorrelationId: "low" });

    const msg2 = message({ a: 1 });
    compileSqlRuleAction("set a = a + 1 SET b = a * 10\nremove a").apply(msg2);
    expect(msg2.applicationProperties).toEqual({ b: 20 });
  });

  it("a property named __proto__ is just a property", () => {
    const msg = message();
    compileSqlRuleAction("SET [__proto__] = 'x'").apply(msg);
    expect(Object.getPrototypeOf(msg.applicationProperties)).toBe(Object.prototype);
    expect(Object.keys(msg.applicationProperties)).toEqual(["__proto__"]);
  });

  it.each([
    ["SET sys.SequenceNumber = 1", /column 5: system property sys.SequenceNumber cannot be changed by a rule action/],
    ["REMOVE sys.EnqueuedTimeUtc", /sys.EnqueuedTimeUtc cannot be changed/],
    ["SET sys.Nope = 1", /unknown system property 'sys.Nope'/],
    ["SET a = sys.Nope", /unknown system property 'sys.Nope'/],
    ["SET a =", /^Invalid SQL action at line 1, column 8: expected expression but end of input found$/],
    ["", /^Invalid SQL action at line 1, column 1: expected "REMOVE" or "SET" but end of input found$/],
    ["DELETE a", /expected "REMOVE" or "SET" but "D" found/],
    ["SET 1 = 2", /expected property but "1" found/],
    ["SET a = 'x", /unterminated string constant/],
  ])("%j → %s", (expression, pattern) => {
    const error = compileError(() => compileSqlRuleAction(expression));
    expect(error.code).toBe("InvalidSqlAction");
    expect(error.message).toMatch(pattern);
  });
});

describe("correlation filters", () => {
  const msg = message(
    { color: "Red", quantity: 10, price: 2.5, urgent: true, big: 12n },
    {
      CorrelationId: "corr",
      MessageId: "msg",
      To: "to",
      ReplyTo: "reply",
      Label: "subj",
      SessionId: "sess",
      ReplyToSessionId: "rsess",
      ContentType: "application/json",
    },
  );

  it.each([
    ["correlationId", "corr"],
    ["messageId", "msg"],
    ["to", "to"],
    ["replyTo", "reply"],
    ["subject", "subj"],
    ["sessionId", "sess"],
    ["replyToSessionId", "rsess"],
    ["contentType", "application/json"],
  ] as const)("%s must equal ordinally", (field, value) => {
    expect(compileCorrelationFilter({ [field]: value }).matches(msg)).toBe(true);
    expect(compileCorrelationFilter({ [field]: value.toUpperCase() }).matches(msg)).toBe(false);
    expect(compileCorrelationFilter({ [field]: value }).matches(message())).toBe(false);
  });

  it("all given fields must match (AND)", () => {
    expect(compileCorrelationFilter({ correlationId: "corr", subject: "subj" }).matches(msg)).toBe(true);
    expect(compileCorrelationFilter({ correlationId: "corr", subject: "other" }).matches(msg)).toBe(false);
  });

  it("application properties must exist and be equal", () => {
    const ok = (applicationProperties: Record<string, string | number | boolean>) => compileCorrelationFilter({ applicationProperties }).matches(msg);
    expect(ok({ color: "Red" })).toBe(true);
    expect(ok({ color: "red" })).toBe(false);
    expect(ok({ quantity: 10 })).toBe(true);
    expect(ok({ quantity: 10.0, price: 2.5 })).toBe(true);
    expect(ok({ quantity: "10" })).toBe(false); // no string/number conversion
    expect(ok({ urgent: true })).toBe(true);
    expect(ok({ urgent: false })).toBe(false);
    expect(ok({ big: 12 })).toBe(true);
    expect(ok({ missing: "x" })).toBe(false);
    expect(ok({ COLOR: "Red" })).toBe(true); // same name resolution as SQL
  });

  it("combines system fields and application properties", () => {
    const filter = compileCorrelationFilter({ subject: "subj", replyTo: "reply", applicationProperties: { color: "Red" } });
    expect(filter.matches(msg)).toBe(true);
    expect(filter.matches(message({ color: "Red" }, { Label: "subj" }))).toBe(false);
  });

  it("an empty string is a value to match, not 'unset'", () => {
    expect(compileCorrelationFilter({ to: "" }).matches(message({}, { To: "" }))).toBe(true);
    expect(compileCorrelationFilter({ to: "" }).matches(msg)).toBe(false);
  });

  it("rejects a filter that sets nothing", () => {
    for (const spec of [{}, { applicationProperties: {} }]) {
      const error = compileError(() => compileCorrelationFilter(spec));
      expect(error.code).toBe("InvalidCorrelationFilter");
      expect(error.message).toMatch(/sets no property to match on/);
    }
  });
});

describe("rule filters and rules", () => {
  const msg = message({ color: "red" }, { Label: "x" });

  it("dispatches on the filter kind", () => {
    expect(compileRuleFilter({ kind: "true" }).matches(msg)).toBe(true);
    expect(compileRuleFilter({ kind: "false" }).matches(msg)).toBe(false);
    expect(compileRuleFilter({ kind: "sql", sqlExpression: "color = 'red'" }).matches(msg)).toBe(true);
    expect(compileRuleFilter({ kind: "correlation", correlation: { subject: "x" } }).matches(msg)).toBe(true);
    expect(() => compileRuleFilter({ kind: "sql", sqlExpression: "color =" })).toThrow(FilterError);
  });

  it("compiles a rule's filter and action together", () => {
    const rule = compileRule({
      name: "red",
      filter: { kind: "sql", sqlExpression: "color = 'red'" },
      actionSqlExpression: "SET sys.Label = 'routed'",
    });
    expect(rule.name).toBe("red");
    expect(rule.filter.matches(msg)).toBe(true);
    rule.action?.apply(msg);
    expect(msg.systemProperties.Label).toBe("routed");
    expect(compileRule({ name: "d", filter: { kind: "true" } }).action).toBeUndefined();
    expect(() => compileRule({ name: "bad", filter: { kind: "true" }, actionSqlExpression: "SET sys.Size = 1" })).toThrow(/cannot be changed/);
  });
});

describe("performance", () => {
  it("evaluates a compiled filter without re-parsing (100k evaluations well under a second)", () => {
    const filter = compileSqlFilter("sys.Label LIKE 'order-%' AND (priority > 2 OR region IN ('eu', 'us')) AND NOT EXISTS(skip)");
    const msg = message({ priority: 1, region: "us" }, { Label: "order-42" });
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) filter.matches(msg);
    expect(filter.matches(msg)).toBe(true);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it("does not blow up on deeply nested parentheses", () => {
    const depth = 60;
    const expression = "(".repeat(depth) + "a = 1" + ")".repeat(depth);
    const start = performance.now();
    expect(matches(expression, message({ a: 1 }))).toBe(true);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
