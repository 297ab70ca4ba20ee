// Run by `helm test` as `node -e`: GET /ready on the control plane's admin port
// until it answers 200 (or the pod's deadline ends). The Service's environment
// variable gives its address without cluster DNS.
const http = require("node:http");
const [host, port] = [process.env.WEFT_CONTROL_PLANE_SERVICE_HOST || process.argv[1], process.argv[2]];
const deadline = Date.now() + 60000;
const attempt = () => {
  const req = http.get({ host, port, path: "/ready", timeout: 5000 }, (res) => {
    let body = "";
    res.on("data", (c) => (body += c));
    res.on("end", () => {
      console.log(JSON.stringify({ host, port, status: res.statusCode, body: body.slice(0, 200) }));
      if (res.statusCode === 200) process.exit(0);
      retry();
    });
  });
  req.on("timeout", () => req.destroy(new Error("timed out")));
  req.on("error", (err) => {
    console.error(JSON.stringify({ host, port, error: err.message }));
    retry();
  });
};
const retry = () => (Date.now() < deadline ? setTimeout(attempt, 2000) : process.exit(1));
attempt();
