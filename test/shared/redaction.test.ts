/**
 * The one redaction module, with the cases each former copy handled: the ffmpeg adapter's
 * argument and stderr redaction, the media stages' remembered SAS, the evidence events' query
 * dropping, ingest's and the blob adapter's plain URLs, and the blob client's echoed setting.
 */
import { displayUrl, redactUrlQueries, SecretRedactor, withoutQuery, withoutQueryStrings } from "../../shared/text/redaction";

const SAS = "sv=2024-05-04&se=2026-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=c2VjcmV0LXNpZw%3D%3D";
const BLOB = "https://acct.blob.core.windows.net/originals/evidence/a.mp4";

describe("withoutQuery", () => {
  test.each([
    ["a SAS URL", `${BLOB}?${SAS}`, BLOB],
    ["a fragment", `${BLOB}#t=10`, BLOB],
    ["a query then a fragment", `${BLOB}?${SAS}#t=10`, BLOB],
    ["an empty query", `${BLOB}?`, BLOB],
    ["no query", BLOB, BLOB],
    ["Azurite's path-style URL", "http://127.0.0.1:10000/devstoreaccount1/originals/a%20b.mp4?sig=x", "http://127.0.0.1:10000/devstoreaccount1/originals/a%20b.mp4"],
    ["a pasted setting that is not a URL", "custodyprod.blob.core.windows.net/?sv=2024&sig=abc", "custodyprod.blob.core.windows.net/"],
    ["a query holding a newline", `${BLOB}?sig=a\nb`, BLOB],
  ])("drops the query of %s", (_case, url, expected) => {
    expect(withoutQuery(url)).toBe(expected);
  });

  test("keeps the path as written: %2E%2E segments are not resolved into another blob's name", () => {
    const url = "https://acct.blob.core.windows.net/originals/evidence/%2E%2E/escape.mp4?sig=x";
    expect(withoutQuery(url)).toBe("https://acct.blob.core.windows.net/originals/evidence/%2E%2E/escape.mp4");
  });
});

describe("withoutQueryStrings", () => {
  test("drops the query and fragment of every URL in free text, already redacted or not", () => {
    const text = `ffprobe exited with code 1 on http://127.0.0.1:1/acct/originals/a.mp4?<redacted> Invalid data; see https://x.example/b?sig=abc#frag and 'https://y.example/c?sv=1'.`;
    expect(withoutQueryStrings(text)).toBe("ffprobe exited with code 1 on http://127.0.0.1:1/acct/originals/a.mp4 Invalid data; see https://x.example/b and 'https://y.example/c'.");
  });

  test("leaves text without URLs, and URLs without a query, as they are", () => {
    expect(withoutQueryStrings("no url here? really#not")).toBe("no url here? really#not");
    expect(withoutQueryStrings(`read ${BLOB} failed`)).toBe(`read ${BLOB} failed`);
  });
});

describe("redactUrlQueries", () => {
  test("replaces a URL's query in a stderr line, keeping the quote around it", () => {
    expect(redactUrlQueries("Opening 'https://acct.blob.core.windows.net/originals/a.mp4?sv=2024&sig=abc%2F' for reading")).toBe(
      "Opening 'https://acct.blob.core.windows.net/originals/a.mp4?<redacted>' for reading",
    );
  });

  test("redacts an argument that is a SAS URL, in any letter case of the scheme", () => {
    expect([`-i`, `${BLOB}?${SAS}`, "-f", "null", "-"].map(redactUrlQueries)).toEqual(["-i", `${BLOB}?<redacted>`, "-f", "null", "-"]);
    expect(redactUrlQueries(`HTTPS://acct.blob.core.windows.net/a.mp4?${SAS}`)).toBe("HTTPS://acct.blob.core.windows.net/a.mp4?<redacted>");
  });

  test("redacts every URL in a command line and keeps a fragment after the redacted query", () => {
    expect(redactUrlQueries(`ffmpeg -i http://h/a?sig=1 -i "http://h/b?sig=2#x" file:/tmp/out?.mp4`)).toBe(`ffmpeg -i http://h/a?<redacted> -i "http://h/b?<redacted>#x" file:/tmp/out?.mp4`);
  });

  test("is idempotent", () => {
    const once = redactUrlQueries(`${BLOB}?${SAS}`);
    expect(redactUrlQueries(once)).toBe(once);
  });
});

describe("displayUrl", () => {
  test("shows origin and path: never the query, the fragment or credentials in the URL", () => {
    expect(displayUrl(`${BLOB}?${SAS}#t=1`)).toBe(BLOB);
    expect(displayUrl("https://user:p4ss@acct.blob.core.windows.net/originals/a.mp4?sig=x")).toBe("https://acct.blob.core.windows.net/originals/a.mp4");
  });

  test("says so for text that is not a URL, without echoing it", () => {
    expect(displayUrl("not a url ?sig=secret")).toBe("(invalid URL)");
  });
});

describe("SecretRedactor", () => {
  test("removes a remembered SAS wherever it appears, however the URL around it was spelt", () => {
    const secrets = new SecretRedactor();
    expect(secrets.rememberUrl(`${BLOB}?${SAS}`)).toBe(`${BLOB}?${SAS}`);
    expect(secrets.redact(`Opening '${BLOB}?${SAS}' for reading`)).toBe(`Opening '${BLOB}?<read-only SAS redacted>' for reading`);
    // A message that quotes only the query (say, a tool echoing its options) loses it too.
    expect(secrets.redact(`options: ${SAS}`)).toBe("options: <read-only SAS redacted>");
  });

  test("also removes any sig= value it was not given, in either spelling", () => {
    const secrets = new SecretRedactor();
    expect(secrets.redact("a?sig=abc&sv=1 b&SIG=def c")).toBe("a?sig=<redacted>&sv=1 b&SIG=<redacted> c");
  });

  test("remembers several URLs, and ignores one without a query or with an empty one", () => {
    const secrets = new SecretRedactor();
    secrets.rememberUrl(`${BLOB}?first=1`);
    secrets.rememberUrl(`${BLOB}?second=2`);
    secrets.rememberUrl(BLOB);
    secrets.rememberUrl(`${BLOB}?`);
    expect(secrets.redact("first=1 second=2 plain")).toBe("<read-only SAS redacted> <read-only SAS redacted> plain");
  });
});
