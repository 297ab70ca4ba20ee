// Original file: discovery.proto

import type { AuthorizationSource as _weft_discovery_v1_AuthorizationSource, AuthorizationSource__Output as _weft_discovery_v1_AuthorizationSource__Output } from '../../../weft/discovery/v1/AuthorizationSource.ts';
import type { AuthorizationOperation as _weft_discovery_v1_AuthorizationOperation, AuthorizationOperation__Output as _weft_discovery_v1_AuthorizationOperation__Output } from '../../../weft/discovery/v1/AuthorizationOperation.ts';

export interface AuthorizationRule {
  'from'?: (_weft_discovery_v1_AuthorizationSource)[];
  'to'?: (_weft_discovery_v1_AuthorizationOperation)[];
}

export interface AuthorizationRule__Output {
  'from': (_weft_discovery_v1_AuthorizationSource__Output)[];
  'to': (_weft_discovery_v1_AuthorizationOperation__Output)[];
}
