// Original file: identity.proto

import type { Long } from '@grpc/proto-loader';

export interface CertifyResponse {
  'certificateChain'?: (Buffer | Uint8Array | string)[];
  'trustAnchors'?: (Buffer | Uint8Array | string)[];
  'validUntilUnixMs'?: (number | string | Long);
}

export interface CertifyResponse__Output {
  'certificateChain': (Buffer)[];
  'trustAnchors': (Buffer)[];
  'validUntilUnixMs': (string);
}
