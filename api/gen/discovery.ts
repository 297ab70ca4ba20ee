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
import type { HeaderModifier as _weft_discovery_v1_HeaderModifier, HeaderModifier__Output as _weft_discovery_v1_HeaderModifier__Output } from './weft/discovery/v1/HeaderModifier.ts';
import type { HeaderValue as _weft_discovery_v1_HeaderValue, HeaderValue__Output as _weft_discovery_v1_HeaderValue__Output } from './weft/discovery/v1/HeaderValue.ts';
import type { Hello as _weft_discovery_v1_Hello, Hello__Output as _weft_discovery_v1_Hello__Output } from './weft/discovery/v1/Hello.ts';
import type { InboundPolicy as _weft_discovery_v1_InboundPolicy, InboundPolicy__Output as _weft_discovery_v1_InboundPolicy__Output } from './weft/discovery/v1/InboundPolicy.ts';
import type { Nack as _weft_discovery_v1_Nack, Nack__Output as _weft_discovery_v1_Nack__Output } from './weft/discovery/v1/Nack.ts';
import type { PathMatch as _weft_discovery_v1_PathMatch, PathMatch__Output as _weft_discovery_v1_PathMatch__Output } from './weft/discovery/v1/PathMatch.ts';
import type { PathModifier as _weft_discovery_v1_PathModifier, PathModifier__Output as _weft_discovery_v1_PathModifier__Output } from './weft/discovery/v1/PathModifier.ts';
import type { ProxyMessage as _weft_discovery_v1_ProxyMessage, ProxyMessage__Output as _weft_discovery_v1_ProxyMessage__Output } from './weft/discovery/v1/ProxyMessage.ts';
import type { ProxyPolicy as _weft_discovery_v1_ProxyPolicy, ProxyPolicy__Output as _weft_discovery_v1_ProxyPolicy__Output } from './weft/discovery/v1/ProxyPolicy.ts';
import type { RequestMirror as _weft_discovery_v1_RequestMirror, RequestMirror__Output as _weft_discovery_v1_RequestMirror__Output } from './weft/discovery/v1/RequestMirror.ts';
import type { RequestRedirect as _weft_discovery_v1_RequestRedirect, RequestRedirect__Output as _weft_discovery_v1_RequestRedirect__Output } from './weft/discovery/v1/RequestRedirect.ts';
import type { RetryPolicy as _weft_discovery_v1_RetryPolicy, RetryPolicy__Output as _weft_discovery_v1_RetryPolicy__Output } from './weft/discovery/v1/RetryPolicy.ts';
import type { RouteBackend as _weft_discovery_v1_RouteBackend, RouteBackend__Output as _weft_discovery_v1_RouteBackend__Output } from './weft/discovery/v1/RouteBackend.ts';
import type { RouteFilter as _weft_discovery_v1_RouteFilter, RouteFilter__Output as _weft_discovery_v1_RouteFilter__Output } from './weft/discovery/v1/RouteFilter.ts';
import type { RouteGrpcMatch as _weft_discovery_v1_RouteGrpcMatch, RouteGrpcMatch__Output as _weft_discovery_v1_RouteGrpcMatch__Output } from './weft/discovery/v1/RouteGrpcMatch.ts';
import type { RouteMatch as _weft_discovery_v1_RouteMatch, RouteMatch__Output as _weft_discovery_v1_RouteMatch__Output } from './weft/discovery/v1/RouteMatch.ts';
import type { RoutePathMatch as _weft_discovery_v1_RoutePathMatch, RoutePathMatch__Output as _weft_discovery_v1_RoutePathMatch__Output } from './weft/discovery/v1/RoutePathMatch.ts';
import type { RouteRetry as _weft_discovery_v1_RouteRetry, RouteRetry__Output as _weft_discovery_v1_RouteRetry__Output } from './weft/discovery/v1/RouteRetry.ts';
import type { RouteRule as _weft_discovery_v1_RouteRule, RouteRule__Output as _weft_discovery_v1_RouteRule__Output } from './weft/discovery/v1/RouteRule.ts';
import type { RouteValueMatch as _weft_discovery_v1_RouteValueMatch, RouteValueMatch__Output as _weft_discovery_v1_RouteValueMatch__Output } from './weft/discovery/v1/RouteValueMatch.ts';
import type { Service as _weft_discovery_v1_Service, Service__Output as _weft_discovery_v1_Service__Output } from './weft/discovery/v1/Service.ts';
import type { ServicePort as _weft_discovery_v1_ServicePort, ServicePort__Output as _weft_discovery_v1_ServicePort__Output } from './weft/discovery/v1/ServicePort.ts';
import type { ServiceRoutes as _weft_discovery_v1_ServiceRoutes, ServiceRoutes__Output as _weft_discovery_v1_ServiceRoutes__Output } from './weft/discovery/v1/ServiceRoutes.ts';
import type { Snapshot as _weft_discovery_v1_Snapshot, Snapshot__Output as _weft_discovery_v1_Snapshot__Output } from './weft/discovery/v1/Snapshot.ts';
import type { UrlRewrite as _weft_discovery_v1_UrlRewrite, UrlRewrite__Output as _weft_discovery_v1_UrlRewrite__Output } from './weft/discovery/v1/UrlRewrite.ts';

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
        HeaderModifier: MessageTypeDefinition<_weft_discovery_v1_HeaderModifier, _weft_discovery_v1_HeaderModifier__Output>
        HeaderValue: MessageTypeDefinition<_weft_discovery_v1_HeaderValue, _weft_discovery_v1_HeaderValue__Output>
        Hello: MessageTypeDefinition<_weft_discovery_v1_Hello, _weft_discovery_v1_Hello__Output>
        InboundPolicy: MessageTypeDefinition<_weft_discovery_v1_InboundPolicy, _weft_discovery_v1_InboundPolicy__Output>
        Nack: MessageTypeDefinition<_weft_discovery_v1_Nack, _weft_discovery_v1_Nack__Output>
        PathMatch: MessageTypeDefinition<_weft_discovery_v1_PathMatch, _weft_discovery_v1_PathMatch__Output>
        PathModifier: MessageTypeDefinition<_weft_discovery_v1_PathModifier, _weft_discovery_v1_PathModifier__Output>
        ProxyMessage: MessageTypeDefinition<_weft_discovery_v1_ProxyMessage, _weft_discovery_v1_ProxyMessage__Output>
        ProxyPolicy: MessageTypeDefinition<_weft_discovery_v1_ProxyPolicy, _weft_discovery_v1_ProxyPolicy__Output>
        RequestMirror: MessageTypeDefinition<_weft_discovery_v1_RequestMirror, _weft_discovery_v1_RequestMirror__Output>
        RequestRedirect: MessageTypeDefinition<_weft_discovery_v1_RequestRedirect, _weft_discovery_v1_RequestRedirect__Output>
        RetryPolicy: MessageTypeDefinition<_weft_discovery_v1_RetryPolicy, _weft_discovery_v1_RetryPolicy__Output>
        RouteBackend: MessageTypeDefinition<_weft_discovery_v1_RouteBackend, _weft_discovery_v1_RouteBackend__Output>
        RouteFilter: MessageTypeDefinition<_weft_discovery_v1_RouteFilter, _weft_discovery_v1_RouteFilter__Output>
        RouteGrpcMatch: MessageTypeDefinition<_weft_discovery_v1_RouteGrpcMatch, _weft_discovery_v1_RouteGrpcMatch__Output>
        RouteMatch: MessageTypeDefinition<_weft_discovery_v1_RouteMatch, _weft_discovery_v1_RouteMatch__Output>
        RoutePathMatch: MessageTypeDefinition<_weft_discovery_v1_RoutePathMatch, _weft_discovery_v1_RoutePathMatch__Output>
        RouteRetry: MessageTypeDefinition<_weft_discovery_v1_RouteRetry, _weft_discovery_v1_RouteRetry__Output>
        RouteRule: MessageTypeDefinition<_weft_discovery_v1_RouteRule, _weft_discovery_v1_RouteRule__Output>
        RouteValueMatch: MessageTypeDefinition<_weft_discovery_v1_RouteValueMatch, _weft_discovery_v1_RouteValueMatch__Output>
        Service: MessageTypeDefinition<_weft_discovery_v1_Service, _weft_discovery_v1_Service__Output>
        ServicePort: MessageTypeDefinition<_weft_discovery_v1_ServicePort, _weft_discovery_v1_ServicePort__Output>
        ServiceRoutes: MessageTypeDefinition<_weft_discovery_v1_ServiceRoutes, _weft_discovery_v1_ServiceRoutes__Output>
        Snapshot: MessageTypeDefinition<_weft_discovery_v1_Snapshot, _weft_discovery_v1_Snapshot__Output>
        UrlRewrite: MessageTypeDefinition<_weft_discovery_v1_UrlRewrite, _weft_discovery_v1_UrlRewrite__Output>
      }
    }
  }
}

