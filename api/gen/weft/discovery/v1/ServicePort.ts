// Original file: discovery.proto


export interface ServicePort {
  'name'?: (string);
  'port'?: (number);
  'protocol'?: (string);
  'appProtocol'?: (string);
}

export interface ServicePort__Output {
  'name': (string);
  'port': (number);
  'protocol': (string);
  'appProtocol': (string);
}
