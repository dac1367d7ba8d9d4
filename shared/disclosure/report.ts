/** The verification report as plain text, for a reader who is not an engineer: one line per check, the findings first under each recording, and a verdict. */
import type { PackageCheck, PackageVerification } from "./verify-package";

const LABEL: Record<PackageCheck["status"], string> = { fail: "FAILED", ok: "OK    ", note: "NOTE  " };

export function describePackageVerification(result: PackageVerification): string {
  const lines: string[] = [`Custody disclosure package: ${result.packagePath}`];
  lines.push(
    result.keys === "published"
      ? `Keys: the deployment's published keys${result.keysFile ? ` (${result.keysFile})` : ""}: a valid signature proves the manifest was issued with the deployment's key.`
      : "Keys: the package's own keys/jwks.json: a valid signature proves the files are unchanged since signing, NOT who signed; give the deployment's published keys with --keys to prove that.",
  );
  lines.push(
    result.trust === "given"
      ? `Content Credentials: checked against the CA certificate(s) given${result.trustFile ? ` (${result.trustFile})` : ""}${result.trustAnchors?.length ? `: ${result.trustAnchors.map((a) => a.subject).join("; ")}` : ""}; an image that chains to one was signed under that CA.`
      : "Content Credentials: checked against each recording's own keys/content-credentials-ca*.pem, where it has one: that proves the images were signed under the CA in the package, NOT that it is the deployment's CA; give the CA certificate obtained from the force with --trust FILE to prove that.",
  );
  if (result.recordings.length === 0) lines.push("", "No recording folders found (each has manifest/manifest.json).");
  for (const recording of result.recordings) {
    const findings = recording.checks.filter((c) => c.status === "fail");
    lines.push(
      "",
      `Recording ${recording.evidenceId ?? "(no readable manifest)"}${recording.evidenceId === recording.folder ? "" : ` in folder ${recording.folder}`}: ${recording.verified ? "VERIFIED" : `NOT VERIFIED — ${findings.length} finding(s)`}`,
    );
    const ordered = [...findings, ...recording.checks.filter((c) => c.status !== "fail")];
    for (const check of ordered) lines.push(`  ${LABEL[check.status]} ${check.message}`);
  }
  const failed = result.recordings.filter((r) => !r.verified).length;
  lines.push(
    "",
    result.verified
      ? `RESULT: VERIFIED — ${result.recordings.length} recording(s), every file matches the signed manifest.`
      : `RESULT: NOT VERIFIED — ${failed} of ${result.recordings.length} recording(s) with findings.`,
  );
  return lines.join("\n");
}
