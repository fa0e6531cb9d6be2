//go:build tools

// Package tools pins MetalLB's speaker (go.universe.tf/metallb/speaker).
package tools

import _ "go.universe.tf/metallb/speaker"
