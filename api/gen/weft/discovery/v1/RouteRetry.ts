// Original file: discovery.proto


export interface RouteRetry {
  'attempts'?: (number);
  'codes'?: (number)[];
  'backoffMs'?: (number);
}

export interface RouteRetry__Output {
  'attempts': (number);
  'codes': (number)[];
  'backoffMs': (number);
}
