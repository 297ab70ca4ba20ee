// One Service as the snapshot builder compiles it: the wire message and its
// encoded bytes, with the model object it came from. Its own module because
// both the builder (snapshot-builder.ts) and the scoped maps it assembles
// views from (snapshot-scoped-services.ts) name it.
import type { Service } from "../../api/gen/weft/discovery/v1/Service.ts";
import type { ServiceModel } from "./mesh-state.ts";

export interface CompiledService {
  key: string;
  /** The model object it was last compiled from: an identical object next time is not recompiled. */
  source: ServiceModel;
  namespace: string;
  meshWide: boolean;
  message: Service;
  /** The message's wire bytes: also its fingerprint (the encoding is deterministic, map keys sorted). */
  encoded: Buffer;
}
