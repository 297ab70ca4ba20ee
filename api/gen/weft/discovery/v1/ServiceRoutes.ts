// Original file: discovery.proto

import type { RouteRule as _weft_discovery_v1_RouteRule, RouteRule__Output as _weft_discovery_v1_RouteRule__Output } from '../../../weft/discovery/v1/RouteRule.ts';
import type { RouteMatch as _weft_discovery_v1_RouteMatch, RouteMatch__Output as _weft_discovery_v1_RouteMatch__Output } from '../../../weft/discovery/v1/RouteMatch.ts';

export interface ServiceRoutes {
  'service'?: (string);
  'rules'?: (_weft_discovery_v1_RouteRule)[];
  'matches'?: (_weft_discovery_v1_RouteMatch)[];
}

export interface ServiceRoutes__Output {
  'service': (string);
  'rules': (_weft_discovery_v1_RouteRule__Output)[];
  'matches': (_weft_discovery_v1_RouteMatch__Output)[];
}
