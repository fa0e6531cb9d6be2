package config

import (
	"fmt"
	"strconv"
	"strings"
)

// ValidateCommunity checks a literal community: "AS:value" with two 16-bit
// numbers, or "large:AS:value1:value2" with three 32-bit numbers. The CRD
// carries the same rule in CEL; this copy covers objects the API server
// stored before the rule existed.
func ValidateCommunity(s string) error {
	parts := strings.Split(s, ":")
	bits := 16
	if parts[0] == "large" {
		parts, bits = parts[1:], 32
		if len(parts) != 3 {
			return fmt.Errorf("a large community has three numbers: large:AS:value1:value2")
		}
	} else if len(parts) != 2 {
		return fmt.Errorf("a standard community has two numbers: AS:value")
	}
	for _, p := range parts {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return fmt.Errorf("%q is not a number", p)
		}
		if _, err := strconv.ParseUint(p, 10, bits); err != nil {
			return fmt.Errorf("%s does not fit in %d bits", p, bits)
		}
	}
	return nil
}
