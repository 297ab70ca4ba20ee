// Images of outside programs the tests run, built like Weft's own (images/specs.ts) but
// from binaries built elsewhere (test/conformance/build.sh puts them in the cache; none
// is committed) and under the exact reference their users ask for. Each is one layer:
// static Go binaries need no libraries.
import type { ImageConfig } from "./oci-layout.ts";
import { LayerFiles } from "./rootfs.ts";

export interface OutsideImageSpec {
  /** Full reference, registry and tag included: the name pods give. */
  reference: string;
  /** The single layer's name, for history and reports. */
  layer: string;
  files: () => LayerFiles;
  config: ImageConfig;
}

const PATH = "PATH=/usr/local/bin:/usr/bin:/bin";

/** Host paths of Istio's echo programs and the certificate its app image carries. */
export interface EchoInputs {
  server: string;
  client: string;
  cert: string;
  key: string;
}

/**
 * The Gateway API conformance suite's echo-advanced image, as Istio's app image
 * (pkg/test/echo/docker/Dockerfile.app) lays it out: the server as entrypoint (the
 * suite's manifests give only its flags), the client on PATH (the suite execs `client`
 * in the pod), /cert.crt and /cert.key (named by --crt and --key), user 1338.
 */
export function echoAdvancedSpec(reference: string, inputs: EchoInputs): OutsideImageSpec {
  return {
    reference,
    layer: "istio-echo",
    files: () =>
      new LayerFiles()
        .hostFile(inputs.server, "usr/local/bin/server")
        .hostFile(inputs.client, "usr/local/bin/client")
        .hostFile(inputs.cert, "cert.crt")
        .hostFile(inputs.key, "cert.key")
        .content("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\napplication:x:1338:1338::/home/application:/sbin/nologin\n")
        .content("etc/group", "root:x:0:\napplication:x:1338:\n")
        .dir("home/application")
        .dir("tmp", 0o1777),
    config: { entrypoint: ["/usr/local/bin/server"], env: [PATH], user: "1338", workingDir: "/" },
  };
}

/** CoreDNS as its upstream image has it: /coredns as entrypoint, a non-root user. */
export function corednsSpec(reference: string, binary: string): OutsideImageSpec {
  return {
    reference,
    layer: "coredns",
    files: () =>
      new LayerFiles()
        .hostFile(binary, "coredns")
        .content("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/nonexistent:/sbin/nologin\n")
        .content("etc/group", "root:x:0:\nnonroot:x:65532:\n")
        .dir("tmp", 0o1777),
    config: { entrypoint: ["/coredns"], env: [PATH], user: "65532:65532", workingDir: "/" },
  };
}

/**
 * Prometheus as its upstream image lays it out (/bin/prometheus as entrypoint, user
 * nobody, /prometheus for data): the chart gives only its flags. No web UI (the Go
 * module has none); the HTTP API is what Weft reads.
 */
export function prometheusSpec(reference: string, binary: string): OutsideImageSpec {
  return {
    reference,
    layer: "prometheus",
    files: () =>
      new LayerFiles()
        .hostFile(binary, "bin/prometheus")
        .content("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/home:/sbin/nologin\n")
        .content("etc/group", "root:x:0:\nnobody:x:65534:\n")
        .dir("prometheus", 0o777)
        .dir("etc/prometheus")
        .dir("tmp", 0o1777),
    config: { entrypoint: ["/bin/prometheus"], cmd: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"], env: [PATH], user: "65534:65534", workingDir: "/prometheus" },
  };
}
