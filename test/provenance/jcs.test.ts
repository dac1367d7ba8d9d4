/**
 * The manifest's canonical form is RFC 8785: the RFC's own examples (§3.2.2, §3.2.3), what it
 * refuses, and where the ledger's canonicalJson (shared/evidence/canonical-json.ts) differs.
 */
import { canonicalJson } from "../../shared/evidence/canonical-json";
import { isCustodyError } from "../../shared/errors";
import { jcs } from "../../shared/provenance/jcs";

test("RFC 8785 §3.2.2: literals, numbers and string escapes", () => {
  // The RFC's input, written as the JavaScript values it parses to (its first number has more digits than a double keeps: the point of the example).
  // eslint-disable-next-line no-loss-of-precision -- the RFC's own literal
  const input = { numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001], string: "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"/", literals: [null, true, false] };
  expect(jcs(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
});

test("RFC 8785 §3.2.3: members sorted by UTF-16 code units, recursively", () => {
  const input = {
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis",
  };
  // Read from the text: a parsed object would put the integer-like "1" first again.
  const textOrder = [...jcs(input).matchAll(/"([^"]+)":"([^"]+)"/g)].map((m) => m[2]);
  expect(textOrder).toEqual(["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]);
  expect(jcs({ b: { d: 1, c: [{ f: 1, e: 2 }] }, a: -0 })).toBe('{"a":0,"b":{"c":[{"e":2,"f":1}],"d":1}}');
});

test("values RFC 8785 has no form for are refused, not rewritten", () => {
  for (const value of [{ n: Number.NaN }, { n: Infinity }, { s: "\ud800" }, { s: "a\udc00" }, [undefined], { d: new Date(0) }, { f: () => 1 }, { b: BigInt(1) }]) {
    let error: unknown;
    try {
      jcs(value);
    } catch (caught) {
      error = caught;
    }
    expect(isCustodyError(error) && error.code === "Internal" && !error.retryable).toBe(true);
  }
  // An undefined member is left out (as JSON.stringify does): optional fields may be written as undefined.
  expect(jcs({ a: undefined, b: 1 })).toBe('{"b":1}');
});

test("where the ledger's canonicalJson differs from RFC 8785: integer-like member names, NaN, lone surrogates", () => {
  expect(jcs({ "10": 1, "2": 2, a: 3 })).toBe('{"10":1,"2":2,"a":3}');
  expect(canonicalJson({ "10": 1, "2": 2, a: 3 })).toBe('{"2":2,"10":1,"a":3}');
  expect(canonicalJson({ n: Number.NaN })).toBe('{"n":null}');
  expect(canonicalJson({ s: "\ud800" })).toBe('{"s":"\\ud800"}');
  // Everything else agrees: the RFC's own example.
  // eslint-disable-next-line no-loss-of-precision -- the RFC's own literal
  const example = { numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 1e-27], string: "\u20ac$\u000F\u000aA'B\"\\/", literals: [null, true, false], nested: { z: 1, y: [{ b: 1, a: 2 }] } };
  expect(canonicalJson(example)).toBe(jcs(example));
});
