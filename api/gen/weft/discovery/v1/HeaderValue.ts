// Original file: discovery.proto


export interface HeaderValue {
  'name'?: (string);
  'value'?: (string);
}

export interface HeaderValue__Output {
  'name': (string);
  'value': (string);
}
