// Original file: discovery.proto


export interface RouteValueMatch {
  'name'?: (string);
  'regex'?: (boolean);
  'value'?: (string);
}

export interface RouteValueMatch__Output {
  'name': (string);
  'regex': (boolean);
  'value': (string);
}
