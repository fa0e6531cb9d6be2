package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The speaker links neither controller-runtime nor client-go's clientset
// and scheme of every API group: on every node their code alone cost
// about 12 MiB of resident memory (internal/kclient's package comment).
// Nor GoBGP and gRPC, which run in cmd/speaker-bgp, started only in BGP
// mode (internal/bgpproc). Tests may use them; the binary may not.
func TestSpeakerLinksNoControllerRuntime(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/barelb/barelb/speaker").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{"sigs.k8s.io/controller-runtime", "k8s.io/client-go/kubernetes", "k8s.io/client-go/informers", "k8s.io/client-go/tools/events", "github.com/osrg/gobgp", "google.golang.org/grpc", "github.com/barelb/barelb/internal/bgp"} {
			if p == banned || strings.HasPrefix(p, banned+"/") {
				t.Errorf("the speaker binary imports %s", p)
			}
		}
	}
}
