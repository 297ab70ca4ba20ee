// Original file: discovery.proto

import type { AuthorizationAction as _weft_discovery_v1_AuthorizationAction, AuthorizationAction__Output as _weft_discovery_v1_AuthorizationAction__Output } from '../../../weft/discovery/v1/AuthorizationAction.ts';
import type { AuthorizationRule as _weft_discovery_v1_AuthorizationRule, AuthorizationRule__Output as _weft_discovery_v1_AuthorizationRule__Output } from '../../../weft/discovery/v1/AuthorizationRule.ts';

export interface AuthorizationPolicy {
  'name'?: (string);
  'action'?: (_weft_discovery_v1_AuthorizationAction);
  'ports'?: (number)[];
  'rules'?: (_weft_discovery_v1_AuthorizationRule)[];
}

export interface AuthorizationPolicy__Output {
  'name': (string);
  'action': (_weft_discovery_v1_AuthorizationAction__Output);
  'ports': (number)[];
  'rules': (_weft_discovery_v1_AuthorizationRule__Output)[];
}
