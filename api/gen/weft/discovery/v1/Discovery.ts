// Original file: discovery.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ProxyMessage as _weft_discovery_v1_ProxyMessage, ProxyMessage__Output as _weft_discovery_v1_ProxyMessage__Output } from '../../../weft/discovery/v1/ProxyMessage.ts';
import type { Snapshot as _weft_discovery_v1_Snapshot, Snapshot__Output as _weft_discovery_v1_Snapshot__Output } from '../../../weft/discovery/v1/Snapshot.ts';

export interface DiscoveryClient extends grpc.Client {
  Stream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_weft_discovery_v1_ProxyMessage, _weft_discovery_v1_Snapshot__Output>;
  Stream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_weft_discovery_v1_ProxyMessage, _weft_discovery_v1_Snapshot__Output>;
  stream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_weft_discovery_v1_ProxyMessage, _weft_discovery_v1_Snapshot__Output>;
  stream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_weft_discovery_v1_ProxyMessage, _weft_discovery_v1_Snapshot__Output>;
  
}

export interface DiscoveryHandlers extends grpc.UntypedServiceImplementation {
  Stream: grpc.handleBidiStreamingCall<_weft_discovery_v1_ProxyMessage__Output, _weft_discovery_v1_Snapshot>;
  
}

export interface DiscoveryDefinition extends grpc.ServiceDefinition {
  Stream: MethodDefinition<_weft_discovery_v1_ProxyMessage, _weft_discovery_v1_Snapshot, _weft_discovery_v1_ProxyMessage__Output, _weft_discovery_v1_Snapshot__Output>
}
