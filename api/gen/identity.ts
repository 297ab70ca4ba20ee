import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { CertifyRequest as _weft_identity_v1_CertifyRequest, CertifyRequest__Output as _weft_identity_v1_CertifyRequest__Output } from './weft/identity/v1/CertifyRequest.ts';
import type { CertifyResponse as _weft_identity_v1_CertifyResponse, CertifyResponse__Output as _weft_identity_v1_CertifyResponse__Output } from './weft/identity/v1/CertifyResponse.ts';
import type { IdentityClient as _weft_identity_v1_IdentityClient, IdentityDefinition as _weft_identity_v1_IdentityDefinition } from './weft/identity/v1/Identity.ts';
import type { TrustUpdate as _weft_identity_v1_TrustUpdate, TrustUpdate__Output as _weft_identity_v1_TrustUpdate__Output } from './weft/identity/v1/TrustUpdate.ts';
import type { WatchTrustRequest as _weft_identity_v1_WatchTrustRequest, WatchTrustRequest__Output as _weft_identity_v1_WatchTrustRequest__Output } from './weft/identity/v1/WatchTrustRequest.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  weft: {
    identity: {
      v1: {
        CertifyRequest: MessageTypeDefinition<_weft_identity_v1_CertifyRequest, _weft_identity_v1_CertifyRequest__Output>
        CertifyResponse: MessageTypeDefinition<_weft_identity_v1_CertifyResponse, _weft_identity_v1_CertifyResponse__Output>
        Identity: SubtypeConstructor<typeof grpc.Client, _weft_identity_v1_IdentityClient> & { service: _weft_identity_v1_IdentityDefinition }
        TrustUpdate: MessageTypeDefinition<_weft_identity_v1_TrustUpdate, _weft_identity_v1_TrustUpdate__Output>
        WatchTrustRequest: MessageTypeDefinition<_weft_identity_v1_WatchTrustRequest, _weft_identity_v1_WatchTrustRequest__Output>
      }
    }
  }
}

