// Original file: discovery.proto


export interface Ack {
  'version'?: (string);
}

export interface Ack__Output {
  'version': (string);
}
