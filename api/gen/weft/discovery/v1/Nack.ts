// Original file: discovery.proto


export interface Nack {
  'version'?: (string);
  'reason'?: (string);
}

export interface Nack__Output {
  'version': (string);
  'reason': (string);
}
