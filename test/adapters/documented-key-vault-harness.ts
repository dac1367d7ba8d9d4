/**
 * A loopback HTTPS server answering the Key Vault keys operations the Key Vault signer uses, the
 * way Microsoft's REST reference says Key Vault answers them — for the adapter's tests with the
 * real @azure/keyvault-keys clients. It records every request, so tests can check what the SDK
 * sent (method, path, api-version, body) against the documented shapes:
 *
 * - Authentication: a request without a bearer token gets 401 with
 *   `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`
 *   (the SDK's challenge-based authentication sends its first request unauthenticated)
 *   https://learn.microsoft.com/azure/key-vault/general/authentication-requests-and-responses,
 *   https://learn.microsoft.com/azure/key-vault/general/rest-error-codes
 * - Get Key (GET {vault}/keys/{name}[/{version}]?api-version): a KeyBundle — `key` (JsonWebKey:
 *   kid = the versioned id, kty, crv, x, y base64url, key_ops) and `attributes` (enabled, nbf,
 *   exp, created, updated: NumericDate seconds); 404 KeyNotFound; 403 Forbidden for a disabled version
 *   https://learn.microsoft.com/rest/api/keyvault/keys/get-key/get-key
 * - Get Key Versions (GET {vault}/keys/{name}/versions?api-version[&maxresults]): `value`
 *   (KeyItem: kid, attributes) and `nextLink` (null on the last page)
 *   https://learn.microsoft.com/rest/api/keyvault/keys/get-key-versions/get-key-versions
 * - Sign (POST {vault}/keys/{name}/{version}/sign?api-version, body `{ alg, value }`, value the
 *   base64url DIGEST): `{ kid, value }`, value the base64url signature (for ES256: r ‖ s, 64
 *   bytes); a digest of the wrong length for the algorithm is 400 BadParameter
 *   https://learn.microsoft.com/rest/api/keyvault/keys/sign/sign
 *
 * The host name is a vault's (`<name>.vault.azure.net`, resolved to 127.0.0.1 by the agent this
 * server hands out), so the SDK's check that the challenge's resource matches the vault's domain
 * runs as it does in Azure. Node signs only whole messages with ECDSA, never a given digest, so
 * the server signs the digest with P-256 arithmetic of its own (BigInt; verified by node:crypto
 * in the tests). Anything else answers 501 and is recorded as unexpected.
 */
import { generateKeyPairSync, randomBytes, type JsonWebKey as NodeJwk, type KeyObject } from "node:crypto";
import { createServer, Agent, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";

export const VAULT_HOST = "custody-test.vault.azure.net";
export const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const PAGE_SIZE = 2;

/** What a handler returns once it has answered (so an early `return error(…)` reads as one step). */
type Answered = "answered";

export interface RecordedKeyVaultRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorized: boolean;
  body?: unknown;
}

interface StoredVersion {
  version: string;
  kind: "EC" | "RSA";
  privateKey: KeyObject;
  jwk: NodeJwk;
  keyOps: string[];
  enabled: boolean;
  created: number;
  nbf?: number;
  exp?: number;
}

export interface DocumentedKeyVault {
  vaultUrl: string;
  /** An agent that reaches this server under the vault's name and trusts its certificate. */
  agent: Agent;
  requests: RecordedKeyVaultRequest[];
  unexpected: RecordedKeyVaultRequest[];
  /** Adds a version (the key's current one: the newest); returns its versioned id. */
  addVersion(name: string, options?: { kind?: "EC" | "RSA"; keyOps?: string[]; enabled?: boolean; created?: Date; nbf?: Date; exp?: Date }): string;
  /** The public JWK of a version (as Key Vault stores it). */
  publicJwk(name: string, version: string): NodeJwk;
  /** Makes every sign call answer 403 (an identity without keys/sign). */
  refuseSign(refuse: boolean): void;
  stop(): Promise<void>;
}

export async function startDocumentedKeyVault(): Promise<DocumentedKeyVault> {
  const pems = await generate([{ name: "commonName", value: VAULT_HOST }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(Date.now() - 3_600_000),
    notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: VAULT_HOST }] },
    ],
  });
  const keys = new Map<string, StoredVersion[]>();
  const requests: RecordedKeyVaultRequest[] = [];
  const unexpected: RecordedKeyVaultRequest[] = [];
  let refusingSign = false;
  let vaultUrl = "";
  let counter = 0;

  const kid = (name: string, version: string): string => `${vaultUrl}/keys/${name}/${version}`;
  const attributes = (v: StoredVersion): Record<string, unknown> => ({
    enabled: v.enabled,
    created: v.created,
    updated: v.created,
    recoveryLevel: "Recoverable",
    recoverableDays: 90,
    ...(v.nbf === undefined ? {} : { nbf: v.nbf }),
    ...(v.exp === undefined ? {} : { exp: v.exp }),
  });
  const bundle = (name: string, v: StoredVersion): Record<string, unknown> => ({
    key:
      v.kind === "EC"
        ? { kid: kid(name, v.version), kty: "EC", key_ops: v.keyOps, crv: "P-256", x: v.jwk.x, y: v.jwk.y }
        : { kid: kid(name, v.version), kty: "RSA", key_ops: v.keyOps, n: v.jwk.n, e: v.jwk.e },
    attributes: attributes(v),
  });

  const handle = (request: IncomingMessage, body: string, response: ServerResponse): Answered => {
    const url = new URL(request.url ?? "/", vaultUrl);
    const authorized = /^Bearer \S+$/.test(request.headers.authorization ?? "");
    let parsedBody: unknown;
    try {
      parsedBody = body === "" ? undefined : JSON.parse(body);
    } catch {
      parsedBody = body;
    }
    const recorded: RecordedKeyVaultRequest = { method: request.method ?? "", path: url.pathname, query: url.searchParams, authorized, ...(parsedBody === undefined ? {} : { body: parsedBody }) };
    requests.push(recorded);
    const json = (status: number, value: unknown, headers: Record<string, string> = {}): Answered => {
      response.writeHead(status, { "content-type": "application/json; charset=utf-8", "x-ms-request-id": String(++counter), ...headers }).end(JSON.stringify(value));
      return "answered";
    };
    const error = (status: number, code: string, message: string): Answered => json(status, { error: { code, message } });

    if (!authorized) {
      return json(
        401,
        { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } },
        { "www-authenticate": `Bearer authorization="https://login.microsoftonline.com/${TENANT_ID}", resource="https://vault.azure.net"` },
      );
    }
    if (!url.searchParams.get("api-version")) return error(400, "BadParameter", "The api-version query parameter is required.");
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "keys" || parts[1] === undefined) {
      unexpected.push(recorded);
      return error(501, "NotImplemented", `${request.method} ${url.pathname}`);
    }
    const name = parts[1];
    const versions = keys.get(name) ?? [];
    const notFound = (): Answered => error(404, "KeyNotFound", `A key with (name/id) ${name} was not found in this key vault.`);

    if (request.method === "GET" && parts.length === 3 && parts[2] === "versions") {
      if (versions.length === 0) return notFound();
      const skip = Number(url.searchParams.get("$skiptoken") ?? "0");
      const page = versions.slice(skip, skip + PAGE_SIZE);
      const next = skip + PAGE_SIZE < versions.length ? `${vaultUrl}/keys/${name}/versions?api-version=${url.searchParams.get("api-version")}&$skiptoken=${skip + PAGE_SIZE}` : null;
      return json(200, { value: page.map((v) => ({ kid: kid(name, v.version), attributes: attributes(v) })), nextLink: next });
    }
    if (request.method === "GET" && (parts.length === 2 || parts.length === 3)) {
      const v = parts.length === 2 || parts[2] === "" ? versions.at(-1) : versions.find((candidate) => candidate.version === parts[2]);
      if (v === undefined) return notFound();
      if (!v.enabled) return error(403, "Forbidden", "Operation get is not allowed on a disabled key.");
      return json(200, bundle(name, v));
    }
    if (request.method === "POST" && parts.length === 4 && parts[3] === "sign") {
      const v = versions.find((candidate) => candidate.version === parts[2]);
      if (v === undefined) return notFound();
      if (refusingSign) return error(403, "Forbidden", "Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/keys/sign/action'");
      const { alg, value } = (parsedBody ?? {}) as { alg?: unknown; value?: unknown };
      if (alg !== "ES256" || v.kind !== "EC") return error(400, "BadParameter", `Algorithm ${String(alg)} is not valid for this key.`);
      if (typeof value !== "string" || !/^[A-Za-z0-9_-]*$/.test(value)) return error(400, "BadParameter", "Property value must be base64url.");
      const digest = Buffer.from(value, "base64url");
      if (digest.length !== 32) return error(400, "BadParameter", "Invalid length of digest. For algorithm ES256 the length must be 32 bytes.");
      if (!v.keyOps.includes("sign")) return error(403, "Forbidden", "Operation sign is not allowed on this key.");
      return json(200, { kid: kid(name, v.version), value: Buffer.from(signDigest(v.jwk, digest)).toString("base64url") });
    }
    unexpected.push(recorded);
    return error(501, "NotImplemented", `${request.method} ${url.pathname}`);
  };

  const server: Server = createServer({ key: pems.private, cert: pems.cert }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      handle(request, Buffer.concat(chunks).toString("utf8"), response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  vaultUrl = `https://${VAULT_HOST}:${port}`;
  const agent = new Agent({
    ca: pems.cert,
    keepAlive: false,
    // Every name resolves to this server (the vault's name included); nothing leaves the machine.
    lookup: ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
      else callback(null, "127.0.0.1", 4);
    }) as never,
  });

  return {
    vaultUrl,
    agent,
    requests,
    unexpected,
    addVersion(name, options = {}) {
      const kind = options.kind ?? "EC";
      const pair = kind === "EC" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
      const version = randomBytes(16).toString("hex");
      const list = keys.get(name) ?? [];
      list.push({
        version,
        kind,
        privateKey: pair.privateKey,
        jwk: pair.privateKey.export({ format: "jwk" }),
        keyOps: options.keyOps ?? ["sign", "verify"],
        enabled: options.enabled ?? true,
        created: Math.floor((options.created ?? new Date()).getTime() / 1000),
        ...(options.nbf ? { nbf: Math.floor(options.nbf.getTime() / 1000) } : {}),
        ...(options.exp ? { exp: Math.floor(options.exp.getTime() / 1000) } : {}),
      });
      keys.set(name, list);
      return kid(name, version);
    },
    publicJwk(name, version) {
      const v = (keys.get(name) ?? []).find((candidate) => candidate.version === version);
      if (v === undefined) throw new Error(`no version ${version} of ${name}`);
      return { kty: v.jwk.kty, crv: v.jwk.crv, x: v.jwk.x, y: v.jwk.y };
    },
    refuseSign(refuse) {
      refusingSign = refuse;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- ECDSA P-256 over a given digest (FIPS 186-4 §6.4), BigInt affine arithmetic ----------

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G: Point = { x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n, y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n };
type Point = { x: bigint; y: bigint } | null;

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function inverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, m);
}
function add(p: Point, q: Point): Point {
  if (p === null) return q;
  if (q === null) return p;
  if (p.x === q.x && mod(p.y + q.y, P) === 0n) return null;
  const lambda = p.x === q.x && p.y === q.y ? mod((3n * p.x * p.x + A) * inverse(2n * p.y, P), P) : mod((q.y - p.y) * inverse(q.x - p.x, P), P);
  const x = mod(lambda * lambda - p.x - q.x, P);
  return { x, y: mod(lambda * (p.x - x) - p.y, P) };
}
function multiply(k: bigint, point: Point): Point {
  let result: Point = null;
  let addend = point;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}
const toBig = (bytes: Uint8Array): bigint => BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
const to32 = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(64, "0"), "hex");

function signDigest(jwk: NodeJwk, digest: Uint8Array): Uint8Array {
  const d = toBig(Buffer.from(jwk.d ?? "", "base64url"));
  const z = toBig(digest);
  for (;;) {
    const k = mod(toBig(randomBytes(40)), N - 1n) + 1n;
    const point = multiply(k, G);
    if (point === null) continue;
    const r = mod(point.x, N);
    const s = mod(inverse(k, N) * (z + r * d), N);
    if (r !== 0n && s !== 0n) return Buffer.concat([to32(r), to32(s)]);
  }
}
