/**
 * Loads the C2PA library (@trustnxt/c2pa-ts, ESM only) and the X.509 library it uses, with
 * `import()`: Custody is compiled to CommonJS, and Node 20 loads an ESM-only package from
 * CommonJS only this way. Both come from the same `import()` so the certificates Custody builds
 * are the classes the library checks with `instanceof` (a CommonJS copy of @peculiar/x509 next
 * to the library's ESM one would not be). Loaded once, on first use.
 */
import type * as C2paAssetModule from "@trustnxt/c2pa-ts/asset" with { "resolution-mode": "import" };
import type * as C2paCoseModule from "@trustnxt/c2pa-ts/cose" with { "resolution-mode": "import" };
import type * as C2paJumbfModule from "@trustnxt/c2pa-ts/jumbf" with { "resolution-mode": "import" };
import type * as C2paManifestModule from "@trustnxt/c2pa-ts/manifest" with { "resolution-mode": "import" };
import type * as X509Module from "@peculiar/x509" with { "resolution-mode": "import" };

export type C2paAsset = typeof C2paAssetModule;
export type C2paCose = typeof C2paCoseModule;
export type C2paJumbf = typeof C2paJumbfModule;
export type C2paManifest = typeof C2paManifestModule;
export type X509 = typeof X509Module;

export interface ContentCredentialsLibrary {
  asset: C2paAsset;
  cose: C2paCose;
  jumbf: C2paJumbf;
  manifest: C2paManifest;
  x509: X509;
}

let loading: Promise<ContentCredentialsLibrary> | undefined;

export function loadContentCredentialsLibrary(): Promise<ContentCredentialsLibrary> {
  loading ??= (async () => {
    const [asset, cose, jumbf, manifest, x509] = await Promise.all([
      import("@trustnxt/c2pa-ts/asset"),
      import("@trustnxt/c2pa-ts/cose"),
      import("@trustnxt/c2pa-ts/jumbf"),
      import("@trustnxt/c2pa-ts/manifest"),
      import("@peculiar/x509"),
    ]);
    return { asset, cose, jumbf, manifest, x509 };
  })();
  return loading;
}
