// Original file: discovery.proto

import type { Authorization as _weft_discovery_v1_Authorization, Authorization__Output as _weft_discovery_v1_Authorization__Output } from '../../../weft/discovery/v1/Authorization.ts';

// Original file: /work/main/api/discovery.proto

export const _weft_discovery_v1_InboundPolicy_Mode = {
  MODE_UNSPECIFIED: 'MODE_UNSPECIFIED',
  STRICT: 'STRICT',
  PERMISSIVE: 'PERMISSIVE',
} as const;

export type _weft_discovery_v1_InboundPolicy_Mode =
  | 'MODE_UNSPECIFIED'
  | 0
  | 'STRICT'
  | 1
  | 'PERMISSIVE'
  | 2

export type _weft_discovery_v1_InboundPolicy_Mode__Output = typeof _weft_discovery_v1_InboundPolicy_Mode[keyof typeof _weft_discovery_v1_InboundPolicy_Mode]

export interface InboundPolicy {
  'mode'?: (_weft_discovery_v1_InboundPolicy_Mode);
  'allowedIdentities'?: (string)[];
  'plaintextPorts'?: (number)[];
  'authorization'?: (_weft_discovery_v1_Authorization | null);
}

export interface InboundPolicy__Output {
  'mode': (_weft_discovery_v1_InboundPolicy_Mode__Output);
  'allowedIdentities': (string)[];
  'plaintextPorts': (number)[];
  'authorization': (_weft_discovery_v1_Authorization__Output | null);
}
