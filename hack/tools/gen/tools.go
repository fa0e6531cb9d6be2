//go:build tools

// Package tools records the binaries this module builds so `go mod tidy` keeps them.
package tools

import (
	_ "honnef.co/go/tools/cmd/staticcheck"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
