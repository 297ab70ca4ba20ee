import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Ack as _weft_discovery_v1_Ack, Ack__Output as _weft_discovery_v1_Ack__Output } from './weft/discovery/v1/Ack.ts';
import type { Authorization as _weft_discovery_v1_Authorization, Authorization__Output as _weft_discovery_v1_Authorization__Output } from './weft/discovery/v1/Authorization.ts';
import type { AuthorizationOperation as _weft_discovery_v1_AuthorizationOperation, AuthorizationOperation__Output as _weft_discovery_v1_AuthorizationOperation__Output } from './weft/discovery/v1/AuthorizationOperation.ts';
import type { AuthorizationPolicy as _weft_discovery_v1_AuthorizationPolicy, AuthorizationPolicy__Output as _weft_discovery_v1_AuthorizationPolicy__Output } from './weft/discovery/v1/AuthorizationPolicy.ts';
import type { AuthorizationRule as _weft_discovery_v1_AuthorizationRule, AuthorizationRule__Output as _weft_discovery_v1_AuthorizationRule__Output } from './weft/discovery/v1/AuthorizationRule.ts';
import type { AuthorizationSource as _weft_discovery_v1_AuthorizationSource, AuthorizationSource__Output as _weft_discovery_v1_AuthorizationSource__Output } from './weft/discovery/v1/AuthorizationSource.ts';
import type { ClientPolicy as _weft_discovery_v1_ClientPolicy, ClientPolicy__Output as _weft_discovery_v1_ClientPolicy__Output } from './weft/discovery/v1/ClientPolicy.ts';
import type { DiscoveryClient as _weft_discovery_v1_DiscoveryClient, DiscoveryDefinition as _weft_discovery_v1_DiscoveryDefinition } from './weft/discovery/v1/Discovery.ts';
import type { Endpoint as _weft_discovery_v1_Endpoint, Endpoint__Output as _weft_discovery_v1_Endpoint__Output } from './weft/discovery/v1/Endpoint.ts';
import type { GrpcMethodMatch as _weft_discovery_v1_GrpcMethodMatch, GrpcMethodMatch__Output as _weft_discovery_v1_GrpcMethodMatch__Output } from './weft/discovery/v1/GrpcMethodMatch.ts';
import type { Hello as _weft_discovery_v1_Hello, Hello__Output as _weft_discovery_v1_Hello__Output } from './weft/discovery/v1/Hello.ts';
import type { InboundPolicy as _weft_discovery_v1_InboundPolicy, InboundPolicy__Output as _weft_discovery_v1_InboundPolicy__Output } from './weft/discovery/v1/InboundPolicy.ts';
import type { Nack as _weft_discovery_v1_Nack, Nack__Output as _weft_discovery_v1_Nack__Output } from './weft/discovery/v1/Nack.ts';
import type { PathMatch as _weft_discovery_v1_PathMatch, PathMatch__Output as _weft_discovery_v1_PathMatch__Output } from './weft/discovery/v1/PathMatch.ts';
import type { ProxyMessage as _weft_discovery_v1_ProxyMessage, ProxyMessage__Output as _weft_discovery_v1_ProxyMessage__Output } from './weft/discovery/v1/ProxyMessage.ts';
import type { ProxyPolicy as _weft_discovery_v1_ProxyPolicy, ProxyPolicy__Output as _weft_discovery_v1_ProxyPolicy__Output } from './weft/discovery/v1/ProxyPolicy.ts';
import type { RetryPolicy as _weft_discovery_v1_RetryPolicy, RetryPolicy__Output as _weft_discovery_v1_RetryPolicy__Output } from './weft/discovery/v1/RetryPolicy.ts';
import type { Service as _weft_discovery_v1_Service, Service__Output as _weft_discovery_v1_Service__Output } from './weft/discovery/v1/Service.ts';
import type { ServicePort as _weft_discovery_v1_ServicePort, ServicePort__Output as _weft_discovery_v1_ServicePort__Output } from './weft/discovery/v1/ServicePort.ts';
import type { Snapshot as _weft_discovery_v1_Snapshot, Snapshot__Output as _weft_discovery_v1_Snapshot__Output } from './weft/discovery/v1/Snapshot.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  weft: {
    discovery: {
      v1: {
        Ack: MessageTypeDefinition<_weft_discovery_v1_Ack, _weft_discovery_v1_Ack__Output>
        Authorization: MessageTypeDefinition<_weft_discovery_v1_Authorization, _weft_discovery_v1_Authorization__Output>
        AuthorizationAction: EnumTypeDefinition
        AuthorizationOperation: MessageTypeDefinition<_weft_discovery_v1_AuthorizationOperation, _weft_discovery_v1_AuthorizationOperation__Output>
        AuthorizationPolicy: MessageTypeDefinition<_weft_discovery_v1_AuthorizationPolicy, _weft_discovery_v1_AuthorizationPolicy__Output>
        AuthorizationRule: MessageTypeDefinition<_weft_discovery_v1_AuthorizationRule, _weft_discovery_v1_AuthorizationRule__Output>
        AuthorizationSource: MessageTypeDefinition<_weft_discovery_v1_AuthorizationSource, _weft_discovery_v1_AuthorizationSource__Output>
        ClientPolicy: MessageTypeDefinition<_weft_discovery_v1_ClientPolicy, _weft_discovery_v1_ClientPolicy__Output>
        DefaultInboundPolicy: EnumTypeDefinition
        Discovery: SubtypeConstructor<typeof grpc.Client, _weft_discovery_v1_DiscoveryClient> & { service: _weft_discovery_v1_DiscoveryDefinition }
        Endpoint: MessageTypeDefinition<_weft_discovery_v1_Endpoint, _weft_discovery_v1_Endpoint__Output>
        GrpcMethodMatch: MessageTypeDefinition<_weft_discovery_v1_GrpcMethodMatch, _weft_discovery_v1_GrpcMethodMatch__Output>
        Hello: MessageTypeDefinition<_weft_discovery_v1_Hello, _weft_discovery_v1_Hello__Output>
        InboundPolicy: MessageTypeDefinition<_weft_discovery_v1_InboundPolicy, _weft_discovery_v1_InboundPolicy__Output>
        Nack: MessageTypeDefinition<_weft_discovery_v1_Nack, _weft_discovery_v1_Nack__Output>
        PathMatch: MessageTypeDefinition<_weft_discovery_v1_PathMatch, _weft_discovery_v1_PathMatch__Output>
        ProxyMessage: MessageTypeDefinition<_weft_discovery_v1_ProxyMessage, _weft_discovery_v1_ProxyMessage__Output>
        ProxyPolicy: MessageTypeDefinition<_weft_discovery_v1_ProxyPolicy, _weft_discovery_v1_ProxyPolicy__Output>
        RetryPolicy: MessageTypeDefinition<_weft_discovery_v1_RetryPolicy, _weft_discovery_v1_RetryPolicy__Output>
        Service: MessageTypeDefinition<_weft_discovery_v1_Service, _weft_discovery_v1_Service__Output>
        ServicePort: MessageTypeDefinition<_weft_discovery_v1_ServicePort, _weft_discovery_v1_ServicePort__Output>
        Snapshot: MessageTypeDefinition<_weft_discovery_v1_Snapshot, _weft_discovery_v1_Snapshot__Output>
      }
    }
  }
}

