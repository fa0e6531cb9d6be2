//go:build tools

// Package tools records the binaries this module builds so `go mod tidy` keeps them.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
