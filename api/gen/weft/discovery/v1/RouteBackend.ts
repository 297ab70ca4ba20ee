// Original file: discovery.proto

import type { RouteFilter as _weft_discovery_v1_RouteFilter, RouteFilter__Output as _weft_discovery_v1_RouteFilter__Output } from '../../../weft/discovery/v1/RouteFilter.ts';

export interface RouteBackend {
  'service'?: (string);
  'port'?: (number);
  'weight'?: (number);
  'filters'?: (_weft_discovery_v1_RouteFilter)[];
  'invalid'?: (boolean);
}

export interface RouteBackend__Output {
  'service': (string);
  'port': (number);
  'weight': (number);
  'filters': (_weft_discovery_v1_RouteFilter__Output)[];
  'invalid': (boolean);
}
