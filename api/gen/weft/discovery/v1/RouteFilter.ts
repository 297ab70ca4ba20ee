// Original file: discovery.proto

import type { HeaderModifier as _weft_discovery_v1_HeaderModifier, HeaderModifier__Output as _weft_discovery_v1_HeaderModifier__Output } from '../../../weft/discovery/v1/HeaderModifier.ts';
import type { RequestRedirect as _weft_discovery_v1_RequestRedirect, RequestRedirect__Output as _weft_discovery_v1_RequestRedirect__Output } from '../../../weft/discovery/v1/RequestRedirect.ts';
import type { UrlRewrite as _weft_discovery_v1_UrlRewrite, UrlRewrite__Output as _weft_discovery_v1_UrlRewrite__Output } from '../../../weft/discovery/v1/UrlRewrite.ts';
import type { RequestMirror as _weft_discovery_v1_RequestMirror, RequestMirror__Output as _weft_discovery_v1_RequestMirror__Output } from '../../../weft/discovery/v1/RequestMirror.ts';

export interface RouteFilter {
  'requestHeaderModifier'?: (_weft_discovery_v1_HeaderModifier | null);
  'responseHeaderModifier'?: (_weft_discovery_v1_HeaderModifier | null);
  'requestRedirect'?: (_weft_discovery_v1_RequestRedirect | null);
  'urlRewrite'?: (_weft_discovery_v1_UrlRewrite | null);
  'requestMirror'?: (_weft_discovery_v1_RequestMirror | null);
  'filter'?: "requestHeaderModifier"|"responseHeaderModifier"|"requestRedirect"|"urlRewrite"|"requestMirror";
}

export interface RouteFilter__Output {
  'requestHeaderModifier'?: (_weft_discovery_v1_HeaderModifier__Output | null);
  'responseHeaderModifier'?: (_weft_discovery_v1_HeaderModifier__Output | null);
  'requestRedirect'?: (_weft_discovery_v1_RequestRedirect__Output | null);
  'urlRewrite'?: (_weft_discovery_v1_UrlRewrite__Output | null);
  'requestMirror'?: (_weft_discovery_v1_RequestMirror__Output | null);
  'filter'?: "requestHeaderModifier"|"responseHeaderModifier"|"requestRedirect"|"urlRewrite"|"requestMirror";
}
