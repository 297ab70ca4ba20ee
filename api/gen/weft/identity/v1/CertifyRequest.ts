// Original file: identity.proto


export interface CertifyRequest {
  'identity'?: (string);
  'token'?: (string);
  'certificateSigningRequest'?: (Buffer | Uint8Array | string);
}

export interface CertifyRequest__Output {
  'identity': (string);
  'token': (string);
  'certificateSigningRequest': (Buffer);
}
