// Run by the pre-delete hook as `node -e`: deletes the MutatingWebhookConfiguration
// named in argv through the pod's ServiceAccount. A 404 means it is already gone.
const https = require("node:https");
const fs = require("node:fs");
const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
const name = process.argv[1];
const req = https.request({
  host: process.env.KUBERNETES_SERVICE_HOST,
  port: process.env.KUBERNETES_SERVICE_PORT,
  method: "DELETE",
  path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`,
  ca: fs.readFileSync(`${sa}/ca.crt`),
  headers: { authorization: `Bearer ${fs.readFileSync(`${sa}/token`, "utf8").trim()}` },
  timeout: 20000,
}, (res) => {
  res.resume();
  const done = res.statusCode === 200 || res.statusCode === 202 || res.statusCode === 404;
  console.log(JSON.stringify({ deleted: name, status: res.statusCode }));
  process.exitCode = done ? 0 : 1;
});
req.on("timeout", () => req.destroy(new Error("timed out")));
req.on("error", (err) => {
  console.error(JSON.stringify({ deleted: name, error: err.message }));
  process.exitCode = 1;
});
req.end();
