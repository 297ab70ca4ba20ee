// Original file: discovery.proto

import type { RouteBackend as _weft_discovery_v1_RouteBackend, RouteBackend__Output as _weft_discovery_v1_RouteBackend__Output } from '../../../weft/discovery/v1/RouteBackend.ts';
import type { RouteFilter as _weft_discovery_v1_RouteFilter, RouteFilter__Output as _weft_discovery_v1_RouteFilter__Output } from '../../../weft/discovery/v1/RouteFilter.ts';
import type { RouteRetry as _weft_discovery_v1_RouteRetry, RouteRetry__Output as _weft_discovery_v1_RouteRetry__Output } from '../../../weft/discovery/v1/RouteRetry.ts';

export interface RouteRule {
  'route'?: (string);
  'name'?: (string);
  'kind'?: (string);
  'backends'?: (_weft_discovery_v1_RouteBackend)[];
  'filters'?: (_weft_discovery_v1_RouteFilter)[];
  'requestTimeoutMs'?: (number);
  'backendRequestTimeoutMs'?: (number);
  'retry'?: (_weft_discovery_v1_RouteRetry | null);
  '_requestTimeoutMs'?: "requestTimeoutMs";
  '_backendRequestTimeoutMs'?: "backendRequestTimeoutMs";
}

export interface RouteRule__Output {
  'route': (string);
  'name': (string);
  'kind': (string);
  'backends': (_weft_discovery_v1_RouteBackend__Output)[];
  'filters': (_weft_discovery_v1_RouteFilter__Output)[];
  'requestTimeoutMs'?: (number);
  'backendRequestTimeoutMs'?: (number);
  'retry': (_weft_discovery_v1_RouteRetry__Output | null);
  '_requestTimeoutMs'?: "requestTimeoutMs";
  '_backendRequestTimeoutMs'?: "backendRequestTimeoutMs";
}
