/**
 * VERIFY.txt: how to check a recording's disclosure folder with nothing but `sha256sum`,
 * `openssl` and a POSIX shell (sh, grep, cut, tr, sed, dd). Each command is one line starting
 * with `  $ ` so it can be pasted as it is (and so the test suite runs every one of them on a
 * real package). The expected values come from the signed manifest.json, never from this guide:
 * a guide that was changed can only make a check fail or skip it, which its reader can see.
 */

export interface VerifyGuideInput {
  evidenceId: string;
  /** The key id manifest.json names (its PEM is keys/<kid>.pem). */
  keyId: string;
  keyPemPath: string;
  originalPath: string;
  segmentSizeInBytes: number;
  segmentCount: number;
  /** Each rendition: where it is in the package and the path the manifest names it by. */
  renditions: Array<{ file: string; manifestPath: string }>;
  /** Earlier manifest issues in the package (manifest/issues/<n>/). */
  earlierIssues: Array<{ sequence: number; keyPemPath: string }>;
  /** The Content Credentials CA certificates in the package (keys/content-credentials-ca-<id>.pem). */
  trustAnchorPaths: string[];
}

export const COMMAND_PREFIX = "  $ ";
const SHELL_SAFE = /^[A-Za-z0-9._/-]+$/;

export function verifyGuide(input: VerifyGuideInput): string {
  const cmd = (line: string): string => `${COMMAND_PREFIX}${line}`;
  const manifestField = (object: string, field: string): string => `grep -o '"${object}":{[^}]*}' manifest/manifest.json | grep -o '"${field}":"[0-9a-f]\\{64\\}"' | cut -d'"' -f4`;
  const lastSegment = Math.max(0, input.segmentCount - 1);
  const lines: string[] = [
    `HOW TO VERIFY THIS EVIDENCE — ${input.evidenceId}`,
    "",
    "This folder holds one recording as Custody disclosed it: the original file, its renditions,",
    "the evidence manifest signed by the deployment's key, the custody log and the public key.",
    "Every check below needs only sha256sum, openssl and a POSIX shell. Run the commands from",
    "this folder. (`custody verify --package <this folder>` runs all of them and more.)",
    "",
    "What anchors everything is manifest/manifest.json and its signature: the manifest names the",
    "SHA-256 of the original, of each of its segments, of every rendition, and the custody log's",
    "head. The expected values below are read from it, never from this guide.",
    "",
    "1. Every file is the one that was exported (any changed, missing or added byte shows here).",
    "   Expected: every line ends in OK. (This file list is not signed: steps 2-6 are the proof.)",
    "",
    cmd("sha256sum -c SHA256SUMS"),
    "",
    `2. The manifest was signed by key ${input.keyId}.`,
    "   Expected: Verified OK",
    "",
    cmd(`openssl dgst -sha256 -verify ${input.keyPemPath} -signature manifest/manifest.sig manifest/manifest.json`),
    "",
    "   The key in this folder proves the files were not changed since signing; it does not prove",
    "   WHO signed. Compare it with the key the deployment publishes (its JWKS, or a PEM obtained",
    "   from the force directly): the key ids must match and the files must be identical.",
    "   The key must also have been valid when the manifest was issued: compare the manifest's",
    "   issuedAt with the key's nbf/exp (seconds since 1970) in keys/jwks.json.",
    "",
    cmd(`grep -o '"issuedAt":"[^"]*"' manifest/manifest.json`),
    "",
    "3. The original is the recording the manifest names: its SHA-256.",
    "   Expected: the two digests are the same, then MATCH",
    "",
    cmd(manifestField("original", "sha256")),
    cmd(`sha256sum ${input.originalPath} | cut -d' ' -f1`),
    cmd(`[ "$(sha256sum ${input.originalPath} | cut -d' ' -f1)" = "$(${manifestField("original", "sha256")})" ] && echo MATCH || echo MISMATCH`),
    "",
    `4. Where a byte differs: the manifest also names the SHA-256 of each ${input.segmentSizeInBytes}-byte segment`,
    `   (${input.segmentCount} segments, numbered from 0). Segment N covers bytes N*${input.segmentSizeInBytes}`,
    `   to (N+1)*${input.segmentSizeInBytes}-1. For segment ${lastSegment} (change N= to check another):`,
    "   Expected: MATCH",
    "",
    cmd(
      `N=${lastSegment}; [ "$(dd if=${input.originalPath} bs=${input.segmentSizeInBytes} skip=$N count=1 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$(grep -o '"segmentSha256":\\[[^]]*\\]' manifest/manifest.json | cut -d'[' -f2 | tr -d ']"' | tr ',' '\\n' | sed -n "$((N+1))p")" ] && echo MATCH || echo MISMATCH`,
    ),
    "",
    "5. Every rendition is the one the manifest names: the SHA-256 the manifest gives for its path",
    "   (the first entry with that path: the current rendition; replaced ones follow under superseded).",
    "   Expected: one OK per rendition",
    "",
    ...(input.renditions.length === 0
      ? ["   (this recording has no renditions)"]
      : input.renditions.map((r) =>
          // Only names that need no quoting go into a command: a path from the manifest is data, never shell.
          !SHELL_SAFE.test(r.manifestPath)
            ? `   (${r.file}: its path in the manifest has characters this guide will not put in a command; compare its SHA-256 with the manifest by eye)`
            : cmd(
                `[ "$(grep -o '{[^{}]*"path":"${r.manifestPath.replace(/\./g, "\\.")}"[^{}]*}' manifest/manifest.json | head -n 1 | grep -o '"sha256":"[0-9a-f]\\{64\\}"' | cut -d'"' -f4)" = "$(sha256sum ${r.file} | cut -d' ' -f1)" ] && echo "OK ${r.file}" || echo "MISMATCH ${r.file}"`,
              ),
        )),
    "",
    '6. The custody log is one unbroken chain: each line names, as "prev", the SHA-256 of the line',
    "   before it (the first: 64 zeros), so an entry removed, reordered or edited breaks a link.",
    '   Lines at the start without "prev" were written before the chain existed; the first',
    "   chained line links to the last of them. Expected: no BROKEN line, then the last line's",
    "   digest and the number of lines.",
    "",
    cmd(
      `p=0000000000000000000000000000000000000000000000000000000000000000; c=no; i=0; while IFS= read -r l; do i=$((i+1)); g=$(printf '%s' "$l" | grep -o '"prev":"[0-9a-f]\\{64\\}"' | tail -n 1 | cut -d'"' -f4); if [ -n "$g" ] || [ $c = yes ]; then c=yes; [ "$g" = "$p" ] || echo "BROKEN at line $i"; fi; p=$(printf '%s' "$l" | sha256sum | cut -d' ' -f1); done < custody-log.jsonl; echo "$i lines, last $p"`,
    ),
    "",
    "   The manifest names the log's head when it was signed: entry E with digest D. Line E of the",
    "   log must have digest D (later lines were appended after the manifest was issued).",
    "   Expected: MATCH",
    "",
    cmd(
      `E=$(grep -o '"custodyLog":{[^}]*}' manifest/manifest.json | grep -o '"entries":[0-9]*' | cut -d: -f2); [ "$(sed -n "\${E}p" custody-log.jsonl | tr -d '\\n' | sha256sum | cut -d' ' -f1)" = "$(${manifestField("custodyLog", "sha256")})" ] && echo MATCH || echo MISMATCH`,
    ),
    "",
    "7. Earlier issues of the manifest (after a reprocess) are in manifest/issues/<n>/, each with",
    "   its own signature; each later issue names the SHA-256 of the one before it (previousManifest).",
    "",
    ...(input.earlierIssues.length === 0
      ? ["   (this recording has one issue only)"]
      : input.earlierIssues.map(({ sequence: n, keyPemPath }) => cmd(`openssl dgst -sha256 -verify ${keyPemPath} -signature manifest/issues/${n}/manifest.sig manifest/issues/${n}/manifest.json`))),
    "",
    "8. Content Credentials (C2PA) in the JPEG renditions. A poster, thumbnail or sprite sheet the",
    "   deployment signed carries a C2PA manifest inside the image: it names this recording's",
    "   original by SHA-256, says how the image was made, is bound to the image's bytes, and is",
    "   signed under a certificate issued by the deployment's Content Credentials CA. That",
    "   certificate and the signature sit in a JUMBF box holding a COSE signature, which sha256sum",
    "   and openssl cannot take apart: check them with `custody verify --package . --trust <the",
    "   force's CA certificate>`, or with any C2PA validator given that CA certificate as its trust",
    "   anchor. (Step 5 already proves each image is the file the signed manifest names.)",
    "",
    ...(input.trustAnchorPaths.length === 0
      ? ["   (this package carries no Content Credentials CA certificate: the deployment published none)"]
      : [
          "   The CA certificate in this folder proves nothing by itself (anyone can make a CA): compare",
          "   its SHA-256 fingerprint with the one the force gives for its Content Credentials CA,",
          "   obtained separately, like the key in step 2. Expected: its subject and fingerprint",
          "",
          ...input.trustAnchorPaths.map((file) => cmd(`openssl x509 -in ${file} -noout -subject -fingerprint -sha256`)),
        ]),
    "",
    "WHAT THIS DOES NOT PROVE: see docs/evidence-integrity.md in Custody. In short: the signature",
    "proves the manifest was made with the key, not when (no trusted timestamp); trust in the key",
    "comes from the deployment that publishes it; JPEG renditions may carry Content Credentials",
    "(C2PA), checked by `custody verify --package` or any C2PA validator; the proxy MP4 is",
    "covered by the manifest's digest only.",
    "",
  ];
  return lines.join("\n");
}
