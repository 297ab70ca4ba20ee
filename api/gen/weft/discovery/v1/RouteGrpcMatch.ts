// Original file: discovery.proto


export interface RouteGrpcMatch {
  'service'?: (string);
  'method'?: (string);
  'regex'?: (boolean);
}

export interface RouteGrpcMatch__Output {
  'service': (string);
  'method': (string);
  'regex': (boolean);
}
