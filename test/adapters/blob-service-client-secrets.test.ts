/**
 * A blobServiceUri that is refused must not be echoed with its query string: a pasted SAS URL
 * carries its signature there, and the error ends up in host logs.
 */
import { createBlobServiceClient } from "../../shared/adapters/blob-service-client";
import { CustodyError } from "../../shared/errors";

test.each([
  ["http (not https) with a SAS", "http://custodyprod.blob.core.windows.net/?sv=2024-05-04&sp=r&sig=c2VjcmV0LXNpZw%3D%3D", /must use https/],
  ["no scheme, with a SAS", "custodyprod.blob.core.windows.net/?sv=2024-05-04&sp=r&sig=c2VjcmV0LXNpZw%3D%3D", /not a URL/],
])("%s: refused without echoing the signature", (_case, blobServiceUri, message) => {
  let error: unknown;
  try {
    createBlobServiceClient({ blobServiceUri });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CustodyError);
  expect((error as CustodyError).code).toBe("InvalidConfiguration");
  expect((error as CustodyError).message).toMatch(message);
  expect((error as CustodyError).message).not.toContain("c2VjcmV0LXNpZw");
});
