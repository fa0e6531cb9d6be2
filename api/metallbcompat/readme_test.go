package metallbcompat_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/barelb/barelb/testsupport/testenv"
)

// migrationCommands returns the kubectl commands of the code block in
// README.md's "Migrating from MetalLB" section, each as its arguments
// after "kubectl" (single quotes removed, relative paths made absolute
// when they name something in the repository), in order.
func migrationCommands(t *testing.T) [][]string {
	t.Helper()
	_, block, ok := strings.Cut(migrationSection(t), "```sh\n")
	if !ok {
		t.Fatal("the migration section has no sh code block")
	}
	block, _, _ = strings.Cut(block, "```")
	var out [][]string
	for _, line := range strings.Split(block, "\n") {
		args := shellWords(strings.TrimSpace(line))
		if len(args) < 2 || args[0] != "kubectl" {
			continue
		}
		args = args[1:]
		for i, a := range args {
			if p := filepath.Join(testenv.RepoRoot(), a); !strings.HasPrefix(a, "-") && !filepath.IsAbs(a) && strings.Contains(a, "/") {
				if _, err := os.Stat(p); err == nil {
					args[i] = p
				}
			}
		}
		out = append(out, args)
	}
	return out
}

// migrationSection is the text of README.md's "Migrating from MetalLB".
func migrationSection(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Migrating from MetalLB\n")
	if !ok {
		t.Fatal(`README.md has no "## Migrating from MetalLB" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	return sec
}

// shellWords splits a command line on spaces, keeping single-quoted
// words whole; enough for the README's commands.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, in := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// migrationStep returns the index and arguments of the README's first
// command starting with prefix.
func migrationStep(t *testing.T, prefix ...string) (int, []string) {
	t.Helper()
	for i, c := range migrationCommands(t) {
		if len(c) >= len(prefix) && slices.Equal(c[:len(prefix)], prefix) {
			return i, c
		}
	}
	t.Fatalf("README's migration steps have no `kubectl %s ...`", strings.Join(prefix, " "))
	return 0, nil
}

// TestMigrationSectionMatchesSwitch: the README's patch is the one
// TestSwitchFromMetalLB proves (which runs the README's own commands), it
// comes before the apply of barelb's CRDs, and the table of refusals
// covers the cases barelb refuses.
func TestMigrationSectionMatchesSwitch(t *testing.T) {
	pi, patch := migrationStep(t, "patch", "crd", "bgppeers.metallb.io")
	ai, apply := migrationStep(t, "apply", "--server-side", "--force-conflicts", "-f")
	if got := patch[len(patch)-1]; !slices.Contains(patch, "--type=merge") || got != SwitchConversionPatch {
		t.Errorf("README patch %q, want --type=merge -p %s", patch, SwitchConversionPatch)
	}
	if pi > ai {
		t.Errorf("README applies barelb's CRDs (step %d) before patching MetalLB's (step %d)", ai, pi)
	}
	if want := filepath.Join(testenv.RepoRoot(), "config", "crd", "bases"); apply[len(apply)-1] != want {
		t.Errorf("README applies %s, want %s (what the switch test applies)", apply[len(apply)-1], want)
	}
	sec := migrationSection(t)
	for _, field := range []string{"`bfdProfile`", "`vrf`", "`interface`", "`ebgpMultiHop`", "`disableMP`", "`aggregationLength`", "community alias", "outside `metallb-system`", "`localPref`"} {
		if !strings.Contains(sec, field) {
			t.Errorf("README's migration section does not mention %s", field)
		}
	}
}
