// Original file: discovery.proto

import type { PathMatch as _weft_discovery_v1_PathMatch, PathMatch__Output as _weft_discovery_v1_PathMatch__Output } from '../../../weft/discovery/v1/PathMatch.ts';
import type { GrpcMethodMatch as _weft_discovery_v1_GrpcMethodMatch, GrpcMethodMatch__Output as _weft_discovery_v1_GrpcMethodMatch__Output } from '../../../weft/discovery/v1/GrpcMethodMatch.ts';

export interface AuthorizationOperation {
  'ports'?: (number)[];
  'notPorts'?: (number)[];
  'methods'?: (string)[];
  'notMethods'?: (string)[];
  'paths'?: (_weft_discovery_v1_PathMatch)[];
  'notPaths'?: (_weft_discovery_v1_PathMatch)[];
  'hosts'?: (string)[];
  'notHosts'?: (string)[];
  'grpc'?: (_weft_discovery_v1_GrpcMethodMatch)[];
}

export interface AuthorizationOperation__Output {
  'ports': (number)[];
  'notPorts': (number)[];
  'methods': (string)[];
  'notMethods': (string)[];
  'paths': (_weft_discovery_v1_PathMatch__Output)[];
  'notPaths': (_weft_discovery_v1_PathMatch__Output)[];
  'hosts': (string)[];
  'notHosts': (string)[];
  'grpc': (_weft_discovery_v1_GrpcMethodMatch__Output)[];
}
