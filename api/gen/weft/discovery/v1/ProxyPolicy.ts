// Original file: discovery.proto

import type { ClientPolicy as _weft_discovery_v1_ClientPolicy, ClientPolicy__Output as _weft_discovery_v1_ClientPolicy__Output } from '../../../weft/discovery/v1/ClientPolicy.ts';
import type { InboundPolicy as _weft_discovery_v1_InboundPolicy, InboundPolicy__Output as _weft_discovery_v1_InboundPolicy__Output } from '../../../weft/discovery/v1/InboundPolicy.ts';

export interface ProxyPolicy {
  'clientDefaults'?: (_weft_discovery_v1_ClientPolicy | null);
  'inbound'?: (_weft_discovery_v1_InboundPolicy | null);
}

export interface ProxyPolicy__Output {
  'clientDefaults': (_weft_discovery_v1_ClientPolicy__Output | null);
  'inbound': (_weft_discovery_v1_InboundPolicy__Output | null);
}
