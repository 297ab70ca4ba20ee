// Original file: discovery.proto


export interface GrpcMethodMatch {
  'service'?: (string);
  'method'?: (string);
}

export interface GrpcMethodMatch__Output {
  'service': (string);
  'method': (string);
}
