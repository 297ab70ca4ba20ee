// Original file: discovery.proto

import type { Hello as _weft_discovery_v1_Hello, Hello__Output as _weft_discovery_v1_Hello__Output } from '../../../weft/discovery/v1/Hello.ts';
import type { Ack as _weft_discovery_v1_Ack, Ack__Output as _weft_discovery_v1_Ack__Output } from '../../../weft/discovery/v1/Ack.ts';
import type { Nack as _weft_discovery_v1_Nack, Nack__Output as _weft_discovery_v1_Nack__Output } from '../../../weft/discovery/v1/Nack.ts';

export interface ProxyMessage {
  'hello'?: (_weft_discovery_v1_Hello | null);
  'ack'?: (_weft_discovery_v1_Ack | null);
  'nack'?: (_weft_discovery_v1_Nack | null);
  'message'?: "hello"|"ack"|"nack";
}

export interface ProxyMessage__Output {
  'hello'?: (_weft_discovery_v1_Hello__Output | null);
  'ack'?: (_weft_discovery_v1_Ack__Output | null);
  'nack'?: (_weft_discovery_v1_Nack__Output | null);
  'message'?: "hello"|"ack"|"nack";
}
