// Original file: discovery.proto


export interface Endpoint {
  'address'?: (string);
  'ports'?: ({[key: string]: number});
  'zone'?: (string);
  'node'?: (string);
  'pod'?: (string);
  'ready'?: (boolean);
  'serving'?: (boolean);
  'terminating'?: (boolean);
  'meshed'?: (boolean);
  'identity'?: (string);
}

export interface Endpoint__Output {
  'address': (string);
  'ports': ({[key: string]: number});
  'zone': (string);
  'node': (string);
  'pod': (string);
  'ready': (boolean);
  'serving': (boolean);
  'terminating': (boolean);
  'meshed': (boolean);
  'identity': (string);
}
