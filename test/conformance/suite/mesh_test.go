// Package meshconformance runs the Gateway API conformance suite with Weft's defaults:
// the mesh profiles, the features they make core, and meshed namespaces. Every default
// is only a default: the suite's own flags (-conformance-profiles, -namespace-labels,
// -supported-features, -report-output, ...) given on the command line win.
package meshconformance

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

var defaults = map[string]string{
	"conformance-profiles": "MESH-HTTP,MESH-GRPC",
	// Without supported features the suite infers them from a GatewayClass, which a mesh has not.
	"supported-features": "Mesh,HTTPRoute,GRPCRoute",
	"namespace-labels":   "weft.io/inject=enabled",
	"organization":       "weft-mesh",
	"project":            "weft",
	"url":                "https://github.com/weft-mesh/weft",
	// The report refuses an implementation without a contact.
	"contact": "https://github.com/weft-mesh/weft/issues",
}

func TestMain(m *testing.M) {
	flag.Parse()
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, value := range defaults {
		if given[name] {
			continue
		}
		if err := flag.Set(name, value); err != nil {
			fmt.Fprintf(os.Stderr, "default -%s=%s: %v\n", name, value, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

func TestMesh(t *testing.T) {
	conformance.RunConformance(t)
}
