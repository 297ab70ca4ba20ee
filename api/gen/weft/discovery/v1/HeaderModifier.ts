// Original file: discovery.proto

import type { HeaderValue as _weft_discovery_v1_HeaderValue, HeaderValue__Output as _weft_discovery_v1_HeaderValue__Output } from '../../../weft/discovery/v1/HeaderValue.ts';

export interface HeaderModifier {
  'set'?: (_weft_discovery_v1_HeaderValue)[];
  'add'?: (_weft_discovery_v1_HeaderValue)[];
  'remove'?: (string)[];
}

export interface HeaderModifier__Output {
  'set': (_weft_discovery_v1_HeaderValue__Output)[];
  'add': (_weft_discovery_v1_HeaderValue__Output)[];
  'remove': (string)[];
}
