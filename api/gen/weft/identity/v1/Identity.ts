// Original file: identity.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CertifyRequest as _weft_identity_v1_CertifyRequest, CertifyRequest__Output as _weft_identity_v1_CertifyRequest__Output } from '../../../weft/identity/v1/CertifyRequest.ts';
import type { CertifyResponse as _weft_identity_v1_CertifyResponse, CertifyResponse__Output as _weft_identity_v1_CertifyResponse__Output } from '../../../weft/identity/v1/CertifyResponse.ts';

export interface IdentityClient extends grpc.Client {
  Certify(argument: _weft_identity_v1_CertifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  Certify(argument: _weft_identity_v1_CertifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  Certify(argument: _weft_identity_v1_CertifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  Certify(argument: _weft_identity_v1_CertifyRequest, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  certify(argument: _weft_identity_v1_CertifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  certify(argument: _weft_identity_v1_CertifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  certify(argument: _weft_identity_v1_CertifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  certify(argument: _weft_identity_v1_CertifyRequest, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface IdentityHandlers extends grpc.UntypedServiceImplementation {
  Certify: grpc.handleUnaryCall<_weft_identity_v1_CertifyRequest__Output, _weft_identity_v1_CertifyResponse>;
  
}

export interface IdentityDefinition extends grpc.ServiceDefinition {
  Certify: MethodDefinition<_weft_identity_v1_CertifyRequest, _weft_identity_v1_CertifyResponse, _weft_identity_v1_CertifyRequest__Output, _weft_identity_v1_CertifyResponse__Output>
}
