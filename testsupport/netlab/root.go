package netlab

import (
	"os"
	"testing"
)

// RequireRoot skips a test that needs root and network namespaces when run
// by hand without them, but fails it under CI (CI is set), where a skip
// would silently drop coverage.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root and network namespaces; CI runs as root, so this is a setup error")
	}
	t.Skip("needs root and network namespaces (runs in CI as root)")
}

// NewForTest creates a lab that is closed when the test ends, also on failure.
func NewForTest(t testing.TB, prefix string) *Lab {
	t.Helper()
	RequireRoot(t)
	_ = Sweep()
	l, err := New(prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("netlab cleanup: %v", err)
		}
	})
	return l
}
