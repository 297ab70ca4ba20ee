// Original file: discovery.proto


export interface RetryPolicy {
  'enabled'?: (boolean);
  'maxRetries'?: (number);
  'retryOnHttpStatus'?: (number)[];
  'retryOnGrpcStatus'?: (string)[];
  'budgetRatio'?: (number | string);
  'budgetMinPerSecond'?: (number);
  'backoffBaseMs'?: (number);
  'backoffMaxMs'?: (number);
  'maxBufferedBodyBytes'?: (number);
}

export interface RetryPolicy__Output {
  'enabled': (boolean);
  'maxRetries': (number);
  'retryOnHttpStatus': (number)[];
  'retryOnGrpcStatus': (string)[];
  'budgetRatio': (number);
  'budgetMinPerSecond': (number);
  'backoffBaseMs': (number);
  'backoffMaxMs': (number);
  'maxBufferedBodyBytes': (number);
}
