// Original file: identity.proto


export interface WatchTrustRequest {
}

export interface WatchTrustRequest__Output {
}
