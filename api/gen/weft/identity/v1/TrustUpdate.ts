// Original file: identity.proto

import type { Long } from '@grpc/proto-loader';

export interface TrustUpdate {
  'trustAnchors'?: (Buffer | Uint8Array | string)[];
  'renewIssuedBeforeUnixMs'?: (number | string | Long);
  'issuer'?: (Buffer | Uint8Array | string);
}

export interface TrustUpdate__Output {
  'trustAnchors': (Buffer)[];
  'renewIssuedBeforeUnixMs': (string);
  'issuer': (Buffer);
}
