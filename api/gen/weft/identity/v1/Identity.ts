// Original file: identity.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CertifyRequest as _weft_identity_v1_CertifyRequest, CertifyRequest__Output as _weft_identity_v1_CertifyRequest__Output } from '../../../weft/identity/v1/CertifyRequest.ts';
import type { CertifyResponse as _weft_identity_v1_CertifyResponse, CertifyResponse__Output as _weft_identity_v1_CertifyResponse__Output } from '../../../weft/identity/v1/CertifyResponse.ts';
import type { TrustUpdate as _weft_identity_v1_TrustUpdate, TrustUpdate__Output as _weft_identity_v1_TrustUpdate__Output } from '../../../weft/identity/v1/TrustUpdate.ts';
import type { WatchTrustRequest as _weft_identity_v1_WatchTrustRequest, WatchTrustRequest__Output as _weft_identity_v1_WatchTrustRequest__Output } from '../../../weft/identity/v1/WatchTrustRequest.ts';

export interface IdentityClient extends grpc.Client {
  Certify(argument: _weft_identity_v1_CertifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  Certify(argument: _weft_identity_v1_CertifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  Certify(argument: _weft_identity_v1_CertifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  Certify(argument: _weft_identity_v1_CertifyRequest, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  certify(argument: _weft_identity_v1_CertifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  certify(argument: _weft_identity_v1_CertifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  certify(argument: _weft_identity_v1_CertifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  certify(argument: _weft_identity_v1_CertifyRequest, callback: grpc.requestCallback<_weft_identity_v1_CertifyResponse__Output>): grpc.ClientUnaryCall;
  
  WatchTrust(argument: _weft_identity_v1_WatchTrustRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_weft_identity_v1_TrustUpdate__Output>;
  WatchTrust(argument: _weft_identity_v1_WatchTrustRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_weft_identity_v1_TrustUpdate__Output>;
  watchTrust(argument: _weft_identity_v1_WatchTrustRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_weft_identity_v1_TrustUpdate__Output>;
  watchTrust(argument: _weft_identity_v1_WatchTrustRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_weft_identity_v1_TrustUpdate__Output>;
  
}

export interface IdentityHandlers extends grpc.UntypedServiceImplementation {
  Certify: grpc.handleUnaryCall<_weft_identity_v1_CertifyRequest__Output, _weft_identity_v1_CertifyResponse>;
  
  WatchTrust: grpc.handleServerStreamingCall<_weft_identity_v1_WatchTrustRequest__Output, _weft_identity_v1_TrustUpdate>;
  
}

export interface IdentityDefinition extends grpc.ServiceDefinition {
  Certify: MethodDefinition<_weft_identity_v1_CertifyRequest, _weft_identity_v1_CertifyResponse, _weft_identity_v1_CertifyRequest__Output, _weft_identity_v1_CertifyResponse__Output>
  WatchTrust: MethodDefinition<_weft_identity_v1_WatchTrustRequest, _weft_identity_v1_TrustUpdate, _weft_identity_v1_WatchTrustRequest__Output, _weft_identity_v1_TrustUpdate__Output>
}
