// Original file: discovery.proto


export interface Hello {
  'workload'?: (string);
  'zone'?: (string);
  'node'?: (string);
  'heldVersion'?: (string);
  'proxyVersion'?: (string);
}

export interface Hello__Output {
  'workload': (string);
  'zone': (string);
  'node': (string);
  'heldVersion': (string);
  'proxyVersion': (string);
}
