// Weft's TLS policy (tls-policy.ts) on a grpc-js server. grpc-js takes cipher
// suites only from the GRPC_SSL_CIPHER_SUITES environment variable, read once
// for the whole process, and passes its certificate updates to the server's
// setSecureContext, which drops any cipher list set at construction. So the
// credentials are wrapped: the policy goes into the server's constructor
// options and into every context update, the first and each rotation.
import { ServerCredentials } from "@grpc/grpc-js";
import type { SecureServerOptions } from "node:http2";
import type { SecureContextOptions } from "node:tls";
import { TLS_POLICY } from "./tls-policy.ts";

type Watcher = Parameters<ServerCredentials["_addWatcher"]>[0];

class PolicyServerCredentials extends ServerCredentials {
  readonly #inner: ServerCredentials;
  readonly #watchers = new Map<Watcher, Watcher>();

  constructor(inner: ServerCredentials) {
    const options = inner._getConstructorOptions();
    super(options === null ? null : { ...options, ...TLS_POLICY }, withPolicy(inner._getSecureContextOptions()) ?? undefined);
    this.#inner = inner;
  }

  override _addWatcher(watcher: Watcher): void {
    const wrapped: Watcher = (context) => watcher(withPolicy(context));
    this.#watchers.set(watcher, wrapped);
    this.#inner._addWatcher(wrapped);
  }

  override _removeWatcher(watcher: Watcher): void {
    const wrapped = this.#watchers.get(watcher);
    if (!wrapped) return;
    this.#watchers.delete(watcher);
    this.#inner._removeWatcher(wrapped);
  }

  override _isSecure(): boolean {
    return this.#inner._isSecure();
  }

  override _getSecureContextOptions(): SecureContextOptions | null {
    return withPolicy(this.#inner._getSecureContextOptions());
  }

  override _getConstructorOptions(): SecureServerOptions | null {
    const options = this.#inner._getConstructorOptions();
    return options === null ? null : { ...options, ...TLS_POLICY };
  }

  override _getInterceptors(): ReturnType<ServerCredentials["_getInterceptors"]> {
    return this.#inner._getInterceptors();
  }

  override _equals(other: ServerCredentials): boolean {
    return other instanceof PolicyServerCredentials && this.#inner._equals(other.#inner);
  }
}

function withPolicy(context: SecureContextOptions | null): SecureContextOptions | null {
  return context === null ? null : { ...context, ...TLS_POLICY };
}

/** `credentials` with Weft's TLS policy on every context the server builds; insecure credentials are returned as they are. */
export function withTlsPolicy(credentials: ServerCredentials): ServerCredentials {
  return credentials._isSecure() ? new PolicyServerCredentials(credentials) : credentials;
}
