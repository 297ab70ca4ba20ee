// Original file: discovery.proto


export interface PathMatch {
  'exact'?: (string);
  'prefix'?: (string);
  'match'?: "exact"|"prefix";
}

export interface PathMatch__Output {
  'exact'?: (string);
  'prefix'?: (string);
  'match'?: "exact"|"prefix";
}
