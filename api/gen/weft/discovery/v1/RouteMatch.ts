// Original file: discovery.proto

import type { RoutePathMatch as _weft_discovery_v1_RoutePathMatch, RoutePathMatch__Output as _weft_discovery_v1_RoutePathMatch__Output } from '../../../weft/discovery/v1/RoutePathMatch.ts';
import type { RouteValueMatch as _weft_discovery_v1_RouteValueMatch, RouteValueMatch__Output as _weft_discovery_v1_RouteValueMatch__Output } from '../../../weft/discovery/v1/RouteValueMatch.ts';
import type { RouteGrpcMatch as _weft_discovery_v1_RouteGrpcMatch, RouteGrpcMatch__Output as _weft_discovery_v1_RouteGrpcMatch__Output } from '../../../weft/discovery/v1/RouteGrpcMatch.ts';

export interface RouteMatch {
  'port'?: (number);
  'rule'?: (number);
  'path'?: (_weft_discovery_v1_RoutePathMatch | null);
  'method'?: (string);
  'headers'?: (_weft_discovery_v1_RouteValueMatch)[];
  'queryParams'?: (_weft_discovery_v1_RouteValueMatch)[];
  'grpc'?: (_weft_discovery_v1_RouteGrpcMatch | null);
}

export interface RouteMatch__Output {
  'port': (number);
  'rule': (number);
  'path': (_weft_discovery_v1_RoutePathMatch__Output | null);
  'method': (string);
  'headers': (_weft_discovery_v1_RouteValueMatch__Output)[];
  'queryParams': (_weft_discovery_v1_RouteValueMatch__Output)[];
  'grpc': (_weft_discovery_v1_RouteGrpcMatch__Output | null);
}
