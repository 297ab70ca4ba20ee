// Original file: discovery.proto

import type { PathModifier as _weft_discovery_v1_PathModifier, PathModifier__Output as _weft_discovery_v1_PathModifier__Output } from '../../../weft/discovery/v1/PathModifier.ts';

export interface UrlRewrite {
  'hostname'?: (string);
  'path'?: (_weft_discovery_v1_PathModifier | null);
}

export interface UrlRewrite__Output {
  'hostname': (string);
  'path': (_weft_discovery_v1_PathModifier__Output | null);
}
