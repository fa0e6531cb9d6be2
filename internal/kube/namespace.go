package kube

import (
	"os"
	"strings"
)

// serviceAccountNamespace is where a Pod's service account token mounts
// its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// DefaultNamespace is where barelb's configuration lives unless a flag
// says otherwise: $POD_NAMESPACE (the downward API), else the Pod's service
// account namespace, else "metallb-system" as in MetalLB's manifests.
func DefaultNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespace); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return "metallb-system"
}
