// Original file: discovery.proto


// Original file: /work/main/api/discovery.proto

export const _weft_discovery_v1_PathModifier_Type = {
  NONE: 'NONE',
  REPLACE_FULL_PATH: 'REPLACE_FULL_PATH',
  REPLACE_PREFIX_MATCH: 'REPLACE_PREFIX_MATCH',
} as const;

export type _weft_discovery_v1_PathModifier_Type =
  | 'NONE'
  | 0
  | 'REPLACE_FULL_PATH'
  | 1
  | 'REPLACE_PREFIX_MATCH'
  | 2

export type _weft_discovery_v1_PathModifier_Type__Output = typeof _weft_discovery_v1_PathModifier_Type[keyof typeof _weft_discovery_v1_PathModifier_Type]

export interface PathModifier {
  'type'?: (_weft_discovery_v1_PathModifier_Type);
  'value'?: (string);
}

export interface PathModifier__Output {
  'type': (_weft_discovery_v1_PathModifier_Type__Output);
  'value': (string);
}
