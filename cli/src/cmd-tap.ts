// `weft tap <resource>`: a live stream of the requests through the selected
// proxies. The CLI talks only to the Kubernetes API with the user's own
// credentials: POST to the aggregated tap.weft.io API, which the apiserver
// authenticates and the tap component authorizes by a SubjectAccessReview
// (docs/security.md, "Tap"). One line per request until interrupted.
import { UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE, namespaceOf } from "./kube-flags.ts";
import { tapHeader, tapLine } from "./tap-format.ts";
import { parseTapResource, tapApiPath, tapBody } from "./tap-request.ts";
import { streamTap } from "./tap-stream.ts";

const USAGE = `usage: weft tap <pod/NAME|deploy/NAME|svc/NAME|ns/NAME> [--to RESOURCE] [--method M] [--path PREFIX] [--max-rps N] [--header NAME ...] ${KUBE_USAGE}
  A live stream of the requests through the selected pods' proxies (needs watch on <kind>/tap in tap.weft.io).`;

export const command = runKubeCommand({
  name: "tap",
  summary: "a live stream of the requests through the selected proxies",
  usage: USAGE,
  options: {
    to: { type: "string" },
    method: { type: "string" },
    path: { type: "string" },
    "max-rps": { type: "string" },
    header: { type: "string", multiple: true },
  },
  async run(args, kc, out) {
    const [target, ...extra] = args.positionals;
    if (!target || extra.length > 0) throw new UsageError("name one resource to tap");
    const resource = parseTapResource(target);
    if (!resource.ok) throw new UsageError(resource.message);
    const namespace = namespaceOf(kc, args.kube);
    const headerValues = args.values.header as unknown;
    const headers = Array.isArray(headerValues) ? headerValues.filter((h): h is string => typeof h === "string") : [];
    const body = tapBody(args.values, headers, namespace);
    const format = args.kube.output;
    out(tapHeader(format));
    const outcome = await streamTap(kc, tapApiPath(namespace, resource.value), body, { event: (e) => out(tapLine(e, format)) }, { command: "tap" });
    return outcome.code;
  },
});
