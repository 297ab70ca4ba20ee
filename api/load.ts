// Loads a .proto of the wire contract at run time with the same options the
// generated types in api/gen were made with, so the two never disagree.
import { loadPackageDefinition, type GrpcObject } from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

export const protoLoaderOptions: Options = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [fileURLToPath(new URL(".", import.meta.url))],
};

/** Loads `name` (for example "identity.proto") and returns its package tree typed as `T`. */
export function loadProto<T>(name: string): T {
  const definition = loadSync(name, protoLoaderOptions);
  return loadPackageDefinition(definition) as GrpcObject as T;
}
