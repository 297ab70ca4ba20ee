// Original file: discovery.proto


// Original file: /work/main/api/discovery.proto

export const _weft_discovery_v1_RoutePathMatch_Type = {
  ANY: 'ANY',
  EXACT: 'EXACT',
  PREFIX: 'PREFIX',
  REGEX: 'REGEX',
} as const;

export type _weft_discovery_v1_RoutePathMatch_Type =
  | 'ANY'
  | 0
  | 'EXACT'
  | 1
  | 'PREFIX'
  | 2
  | 'REGEX'
  | 3

export type _weft_discovery_v1_RoutePathMatch_Type__Output = typeof _weft_discovery_v1_RoutePathMatch_Type[keyof typeof _weft_discovery_v1_RoutePathMatch_Type]

export interface RoutePathMatch {
  'type'?: (_weft_discovery_v1_RoutePathMatch_Type);
  'value'?: (string);
}

export interface RoutePathMatch__Output {
  'type': (_weft_discovery_v1_RoutePathMatch_Type__Output);
  'value': (string);
}
