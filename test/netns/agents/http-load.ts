// Sends N HTTP/1.1 requests one after another over a keep-alive agent and
// reports the statuses and which server answered each (the body's first word).
// usage: node http-load.ts URL N [pauseMs]
import http from "node:http";

const [url = "", count = "10", pause = "0"] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const statuses: Record<string, number> = {};
const who: Record<string, number> = {};
const sequence: string[] = [];

function once(): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => { body += d; });
      res.on("end", () => {
        const status = String(res.statusCode);
        statuses[status] = (statuses[status] ?? 0) + 1;
        const server = res.statusCode === 200 ? (body.split(" ")[0] ?? "") : `status-${status}`;
        who[server] = (who[server] ?? 0) + 1;
        sequence.push(server);
        resolve();
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => {
      statuses[`error:${e.message}`] = (statuses[`error:${e.message}`] ?? 0) + 1;
      sequence.push("error");
      resolve();
    });
  });
}

for (let i = 0; i < Number(count); i++) {
  await once();
  if (Number(pause) > 0) await new Promise((r) => setTimeout(r, Number(pause)));
}
agent.destroy();
console.log(JSON.stringify({ statuses, who, sequence }));
