// Original file: discovery.proto


export interface RequestMirror {
  'service'?: (string);
  'port'?: (number);
  'percent'?: (number | string);
}

export interface RequestMirror__Output {
  'service': (string);
  'port': (number);
  'percent': (number);
}
