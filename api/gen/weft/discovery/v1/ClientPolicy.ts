// Original file: discovery.proto

import type { RetryPolicy as _weft_discovery_v1_RetryPolicy, RetryPolicy__Output as _weft_discovery_v1_RetryPolicy__Output } from '../../../weft/discovery/v1/RetryPolicy.ts';

export interface ClientPolicy {
  'retry'?: (_weft_discovery_v1_RetryPolicy | null);
  'requestTimeoutMs'?: (number);
  'connectTimeoutMs'?: (number);
  'responseTimeoutMs'?: (number);
  'idleTimeoutMs'?: (number);
  'totalTimeoutMs'?: (number);
  '_responseTimeoutMs'?: "responseTimeoutMs";
  '_idleTimeoutMs'?: "idleTimeoutMs";
  '_totalTimeoutMs'?: "totalTimeoutMs";
}

export interface ClientPolicy__Output {
  'retry': (_weft_discovery_v1_RetryPolicy__Output | null);
  'requestTimeoutMs': (number);
  'connectTimeoutMs': (number);
  'responseTimeoutMs'?: (number);
  'idleTimeoutMs'?: (number);
  'totalTimeoutMs'?: (number);
  '_responseTimeoutMs'?: "responseTimeoutMs";
  '_idleTimeoutMs'?: "idleTimeoutMs";
  '_totalTimeoutMs'?: "totalTimeoutMs";
}
