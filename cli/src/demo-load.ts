// The demo's steady traffic: GET requests to the frontend at a fixed rate,
// counted by outcome. Requests in flight are bounded so a stalled frontend
// cannot pile up sockets. The frontend is reached over TCP (loopback mode) or
// a unix socket relayed into its namespace (network-namespace mode).
import * as http from "node:http";
import type { HttpTarget } from "./local-http.ts";

export interface LoadCounts { sent: number; ok: number; failed: number }

export class LoadGenerator {
  readonly counts: LoadCounts = { sent: 0, ok: 0, failed: 0 };
  #timer: NodeJS.Timeout | null = null;
  #inFlight = 0;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  readonly #target: HttpTarget;
  readonly #rate: number;

  constructor(target: HttpTarget, ratePerSecond: number) {
    this.#target = target;
    this.#rate = ratePerSecond;
  }

  start(): void {
    const tickMs = 50;
    let owed = 0;
    this.#timer = setInterval(() => {
      owed += (this.#rate * tickMs) / 1000;
      while (owed >= 1) {
        owed -= 1;
        if (this.#inFlight < 256) this.#one();
      }
    }, tickMs);
  }

  #one(): void {
    this.#inFlight += 1;
    this.counts.sent += 1;
    const finish = (ok: boolean): void => {
      this.#inFlight -= 1;
      if (ok) this.counts.ok += 1;
      else this.counts.failed += 1;
    };
    const where = "socketPath" in this.#target ? { socketPath: this.#target.socketPath } : { host: this.#target.host, port: this.#target.port };
    const req = http.get({ ...where, path: "/", agent: this.#agent, timeout: 5_000 }, (res) => {
      res.resume();
      res.on("end", () => finish(res.statusCode === 200));
      res.on("error", () => finish(false));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => finish(false));
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#agent.destroy();
  }
}
