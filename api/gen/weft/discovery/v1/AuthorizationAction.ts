// Original file: discovery.proto

export const AuthorizationAction = {
  AUTHORIZATION_ACTION_UNSPECIFIED: 'AUTHORIZATION_ACTION_UNSPECIFIED',
  ALLOW: 'ALLOW',
  DENY: 'DENY',
  AUDIT: 'AUDIT',
} as const;

export type AuthorizationAction =
  | 'AUTHORIZATION_ACTION_UNSPECIFIED'
  | 0
  | 'ALLOW'
  | 1
  | 'DENY'
  | 2
  | 'AUDIT'
  | 3

export type AuthorizationAction__Output = typeof AuthorizationAction[keyof typeof AuthorizationAction]
