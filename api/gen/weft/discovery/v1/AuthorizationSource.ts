// Original file: discovery.proto


export interface AuthorizationSource {
  'identities'?: (string)[];
  'notIdentities'?: (string)[];
  'namespaces'?: (string)[];
  'notNamespaces'?: (string)[];
  'serviceAccounts'?: (string)[];
  'notServiceAccounts'?: (string)[];
  'unauthenticated'?: (boolean);
}

export interface AuthorizationSource__Output {
  'identities': (string)[];
  'notIdentities': (string)[];
  'namespaces': (string)[];
  'notNamespaces': (string)[];
  'serviceAccounts': (string)[];
  'notServiceAccounts': (string)[];
  'unauthenticated': (boolean);
}
