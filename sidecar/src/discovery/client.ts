// The proxy's side of discovery: one long-lived mTLS stream to the control
// plane. It says Hello with the version it holds, applies each snapshot through
// applySnapshot (discovery/mesh-state.ts), ACKs good versions and NACKs bad ones with
// the reason, and reconnects with jittered exponential backoff. While
// disconnected it keeps serving from the last good state.
//
// Events: "update" (state: MeshState, snapshot: Snapshot__Output) after each applied version;
// "nack" (reason: string, version: string); "connected"; "disconnected" (status: {code, details}).
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";
import { loadProto } from "../../../api/load.ts";
import type { ProtoGrpcType } from "../../../api/gen/discovery.ts";
import type { DiscoveryClient as GrpcDiscoveryClient } from "../../../api/gen/weft/discovery/v1/Discovery.ts";
import type { ProxyMessage } from "../../../api/gen/weft/discovery/v1/ProxyMessage.ts";
import type { Snapshot__Output } from "../../../api/gen/weft/discovery/v1/Snapshot.ts";
import { silentLogger, type Logger } from "../../../lib/log.ts";
import { spiffeIdFromSubjectAltName } from "../../../lib/spiffe.ts";
import type { Result } from "../../../lib/result.ts";
import { applySnapshot, type MeshState } from "./mesh-state.ts";

export interface ClientTls {
  keyPem: string;
  certChainPem: string;
  anchorsPem: string;
}

export interface DiscoveryClientOptions {
  /** host:port of the control plane's discovery service. */
  address: string;
  /** Current credentials; a function is called before every connection attempt, so rotated certificates are used. */
  tls: ClientTls | (() => ClientTls | Promise<ClientTls>);
  /** The SPIFFE id the control plane must present; when unset any certificate chaining to the anchors is accepted. */
  serverIdentity?: string;
  hello?: { workload?: string; zone?: string; node?: string; proxyVersion?: string };
  backoff?: { baseMs?: number; maxMs?: number };
  /** A state to serve (and offer in Hello) before the first snapshot arrives. */
  initialState?: MeshState | null;
  logger?: Logger;
  random?: () => number;
  /**
   * Decodes a snapshot from its bytes (default: the generated decoder). A host simulating many proxies
   * in one process (the discovery benchmark) can share one decode of identical bytes between them;
   * the result is never mutated.
   */
  decode?: (bytes: Buffer) => Snapshot__Output;
  /**
   * Checks an applied state before it is taken (the root compiles its authorization here, a group this one
   * may not import): a failure is NACKed with its reason, and the last good state stays.
   */
  validate?: (state: MeshState) => Result<unknown>;
  /** Extra gRPC channel options (e.g. "grpc.use_local_subchannel_pool" so simulated proxies in one process do not share a connection). */
  channelOptions?: grpc.ChannelOptions;
}

export type DiscoveryClientEvents = {
  update: [state: MeshState, snapshot: Snapshot__Output];
  nack: [reason: string, version: string];
  connected: [];
  disconnected: [status: { code: number; details: string }];
};

const proto = loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1;

export class DiscoveryClient extends EventEmitter<DiscoveryClientEvents> {
  readonly #options: DiscoveryClientOptions;
  readonly #logger: Logger;
  #state: MeshState | null;
  #client: GrpcDiscoveryClient | null = null;
  #call: grpc.ClientDuplexStream<ProxyMessage, Snapshot__Output> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #attempt = 0;
  #stopped = true;
  readonly #greeted = new WeakSet<object>();

  constructor(options: DiscoveryClientOptions) {
    super();
    this.#options = options;
    this.#logger = (options.logger ?? silentLogger()).child({ component: "discovery-client" });
    this.#state = options.initialState ?? null;
  }

  /** The last good state (kept across disconnects), or null before the first snapshot. */
  get state(): MeshState | null {
    return this.#state;
  }

  get connected(): boolean {
    return this.#call !== null;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#teardown();
  }

  /** Resolves with the first state whose predicate holds (the current one included). */
  waitFor(predicate: (state: MeshState) => boolean, timeoutMs = 30_000): Promise<MeshState> {
    return new Promise((resolve, reject) => {
      if (this.#state && predicate(this.#state)) return resolve(this.#state);
      const timer = setTimeout(() => {
        this.off("update", onUpdate);
        reject(new Error(`discovery state did not converge within ${timeoutMs} ms (holding ${this.#state?.version ?? "nothing"})`));
      }, timeoutMs);
      const onUpdate = (state: MeshState) => {
        if (!predicate(state)) return;
        clearTimeout(timer);
        this.off("update", onUpdate);
        resolve(state);
      };
      this.on("update", onUpdate);
    });
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let tls: ClientTls;
    try {
      tls = typeof this.#options.tls === "function" ? await this.#options.tls() : this.#options.tls;
    } catch (err) {
      this.#logger.warn({ err }, "no credentials for discovery yet");
      return this.#scheduleReconnect();
    }
    if (this.#stopped) return;
    const expected = this.#options.serverIdentity;
    const credentials = grpc.credentials.createSsl(Buffer.from(tls.anchorsPem), Buffer.from(tls.keyPem), Buffer.from(tls.certChainPem), {
      // Control-plane certificates carry a SPIFFE id, not a DNS name; the chain is checked by TLS against the anchors.
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        if (!expected) return undefined;
        const id = spiffeIdFromSubjectAltName(cert.subjectaltname);
        return id.ok && id.value.uri === expected ? undefined : new Error(`control plane presented ${id.ok ? id.value.uri : "no SPIFFE id"}, expected ${expected}`);
      },
    });
    const client = new proto.Discovery(this.#options.address, credentials, {
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.max_receive_message_length": 256 * 1024 * 1024,
      "grpc.initial_reconnect_backoff_ms": 200,
      // The control plane buffers (and keeps, as its TLS buffers' high-water mark) about as much
      // ciphertext per connection as the proxy's window lets it send at once: with the default 64 KiB,
      // a 1.2 MB first snapshot left ~45 KiB more per connection than with 16 KiB (45 MB at 1,000
      // proxies; docs/benchmarks.md, "Discovery"). Deltas are far smaller; a full snapshot takes more round trips.
      "grpc-node.flow_control_window": 16 * 1024,
      // SNI must be a name, not an IP; the server's identity is checked above, not by hostname.
      "grpc.ssl_target_name_override": "discovery.weft.internal",
      // Nothing in a proxy serves channelz; it keeps counters per call and message.
      "grpc.enable_channelz": 0,
      ...this.#options.channelOptions,
    });
    this.#client = client;
    const method = proto.Discovery.service.Stream;
    const call = client.makeBidiStreamRequest<ProxyMessage, Snapshot__Output>(method.path, method.requestSerialize, this.#options.decode ?? method.responseDeserialize);
    this.#call = call;
    let ended = false;
    const onEnd = (status: { code: number; details: string }) => {
      if (ended) return;
      ended = true;
      if (this.#call === call) this.#teardown();
      if (this.#stopped) return;
      this.#logger.info({ code: status.code, details: status.details, holding: this.#state?.version ?? null }, "discovery stream ended");
      this.emit("disconnected", status);
      this.#scheduleReconnect();
    };
    call.on("data", (snapshot: Snapshot__Output) => this.#onSnapshot(call, snapshot));
    call.on("error", (err: grpc.ServiceError) => onEnd({ code: err.code ?? grpc.status.UNKNOWN, details: err.details ?? err.message }));
    call.on("status", (status: grpc.StatusObject) => onEnd(status));
    call.on("end", () => onEnd({ code: grpc.status.UNAVAILABLE, details: "stream ended" }));
    const hello = this.#options.hello ?? {};
    call.write({
      hello: {
        workload: hello.workload ?? "",
        zone: hello.zone ?? "",
        node: hello.node ?? "",
        proxyVersion: hello.proxyVersion ?? "",
        heldVersion: this.#state?.version ?? "",
      },
    });
  }

  #onSnapshot(call: grpc.ClientDuplexStream<ProxyMessage, Snapshot__Output>, snapshot: Snapshot__Output): void {
    if (this.#attempt > 0) this.#attempt = 0;
    if (this.#call !== call) return;
    let applied: Result<MeshState> = applySnapshot(this.#state, snapshot);
    if (applied.ok && this.#options.validate) {
      const valid = this.#options.validate(applied.value);
      if (!valid.ok) applied = valid;
    }
    if (!applied.ok) {
      this.#logger.warn({ version: snapshot.version, code: applied.code, reason: applied.message }, "refusing discovery snapshot");
      call.write({ nack: { version: snapshot.version, reason: `${applied.code}: ${applied.message}` } });
      this.emit("nack", applied.message, snapshot.version);
      return;
    }
    this.#state = applied.value;
    call.write({ ack: { version: snapshot.version } });
    if (!this.#greeted.has(call)) {
      this.#greeted.add(call);
      this.emit("connected");
    }
    this.emit("update", applied.value, snapshot);
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#timer) return;
    const base = this.#options.backoff?.baseMs ?? 500;
    const max = this.#options.backoff?.maxMs ?? 15_000;
    const ceiling = Math.min(max, base * 2 ** Math.min(this.#attempt, 20));
    const delay = base / 2 + (this.#options.random ?? Math.random)() * (ceiling - base / 2);
    this.#attempt++;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, delay);
  }

  #teardown(): void {
    const call = this.#call;
    const client = this.#client;
    this.#call = null;
    this.#client = null;
    call?.cancel();
    client?.close();
  }
}
