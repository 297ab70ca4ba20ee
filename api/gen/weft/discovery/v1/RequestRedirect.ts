// Original file: discovery.proto

import type { PathModifier as _weft_discovery_v1_PathModifier, PathModifier__Output as _weft_discovery_v1_PathModifier__Output } from '../../../weft/discovery/v1/PathModifier.ts';

export interface RequestRedirect {
  'scheme'?: (string);
  'hostname'?: (string);
  'port'?: (number);
  'path'?: (_weft_discovery_v1_PathModifier | null);
  'statusCode'?: (number);
}

export interface RequestRedirect__Output {
  'scheme': (string);
  'hostname': (string);
  'port': (number);
  'path': (_weft_discovery_v1_PathModifier__Output | null);
  'statusCode': (number);
}
