// Original file: discovery.proto

import type { DefaultInboundPolicy as _weft_discovery_v1_DefaultInboundPolicy, DefaultInboundPolicy__Output as _weft_discovery_v1_DefaultInboundPolicy__Output } from '../../../weft/discovery/v1/DefaultInboundPolicy.ts';
import type { AuthorizationPolicy as _weft_discovery_v1_AuthorizationPolicy, AuthorizationPolicy__Output as _weft_discovery_v1_AuthorizationPolicy__Output } from '../../../weft/discovery/v1/AuthorizationPolicy.ts';

export interface Authorization {
  'defaultPolicy'?: (_weft_discovery_v1_DefaultInboundPolicy);
  'defaultDryRun'?: (boolean);
  'policies'?: (_weft_discovery_v1_AuthorizationPolicy)[];
  'trustDomain'?: (string);
}

export interface Authorization__Output {
  'defaultPolicy': (_weft_discovery_v1_DefaultInboundPolicy__Output);
  'defaultDryRun': (boolean);
  'policies': (_weft_discovery_v1_AuthorizationPolicy__Output)[];
  'trustDomain': (string);
}
