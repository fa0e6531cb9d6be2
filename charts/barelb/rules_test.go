package barelb_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var rulesTest = filepath.Join(chartDir, "rules", "barelb.rules_test.yaml")

func promtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool(t, "promtool"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestRulesCheck is `promtool check rules` on the file the chart embeds.
func TestRulesCheck(t *testing.T) {
	if out, err := promtool(t, "check", "rules", "--lint=all", "--lint-fatal", rulesFile); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}

// TestRulesUnit is `promtool test rules`, and wants every alert of the
// file to be expected to fire in some test (the tests also hold series
// that must not fire it).
func TestRulesUnit(t *testing.T) {
	out, err := promtool(t, "test", "rules", rulesTest)
	if err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	b, err := os.ReadFile(rulesTest)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &tests); err != nil {
		t.Fatal(err)
	}
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			fires[a.Alertname] = fires[a.Alertname] || len(a.ExpAlerts) > 0
		}
	}
	for _, a := range ruleFile(t) {
		if !fires[a] {
			t.Errorf("alert %s: no promtool test expects it to fire", a)
		}
	}
}

// TestDashboard: the Grafana dashboard is JSON, and every panel query is
// PromQL that promtool accepts (checked as recording rules, with Grafana's
// variables replaced) over metric names the rules also use or barelb
// exports.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(chartDir, "dashboards", "barelb.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboards/barelb.json: %v", err)
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n- name: dashboard\n  rules:\n")
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				continue
			}
			n++
			e, _ := json.Marshal(vars.Replace(tg.Expr))
			fmt.Fprintf(&rules, "  - record: dashboard:panel%d\n    expr: %s\n", n, e)
			for _, m := range metricNames(tg.Expr) {
				if !slices.Contains(exported, m) {
					t.Errorf("panel %q queries %s, which barelb does not export", p.Title, m)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("dashboard has %d queries, want its panels", n)
	}
	f := filepath.Join(t.TempDir(), "dashboard.rules.yaml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := promtool(t, "check", "rules", f); err != nil {
		t.Errorf("dashboard queries: %v\n%s", err, out)
	}
}

// TestRulesUseExportedMetrics: the alerts query only series barelb
// exports (or Prometheus's own up).
func TestRulesUseExportedMetrics(t *testing.T) {
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			for _, m := range metricNames(r.Expr) {
				used[m] = true
				if !slices.Contains(exported, m) {
					t.Errorf("alert %s queries %s, which barelb does not export", r.Alert, m)
				}
			}
		}
	}
	// The scan itself works: it finds what the alerts are about.
	for _, m := range []string{"up", "metallb_speaker_announced", "metallb_bgp_session_up", "metallb_allocator_addresses_in_use_total", "metallb_k8s_client_config_stale_bool", "barelb_controller_allocation_failures_total"} {
		if !used[m] {
			t.Errorf("the scan of the alerts' expressions misses %s (found %v)", m, used)
		}
	}
	if bogus := metricNames(`sum by (ip) (rate(barelb_no_such_metric{job="x"}[5m]))`); !slices.Equal(bogus, []string{"barelb_no_such_metric"}) {
		t.Errorf("metricNames of a made-up query: %v", bogus)
	}
}

// exported lists the series barelb exports (controller/app/metrics.go,
// speaker/app/run.go, internal/layer2/metrics.go, internal/bgp/metrics.go),
// plus up. TestExportedMatchesSource keeps it honest.
var exported = []string{
	"metallb_allocator_addresses_in_use_total", "metallb_allocator_addresses_total",
	"barelb_allocator_addresses_out_of_pool", "barelb_controller_allocation_failures_total",
	"metallb_k8s_client_config_loaded_bool", "metallb_k8s_client_config_stale_bool",
	"metallb_speaker_announced",
	"metallb_layer2_requests_received", "metallb_layer2_responses_sent", "metallb_layer2_gratuitous_sent",
	"barelb_layer2_announced_ips",
	"metallb_bgp_session_up", "metallb_bgp_announced_prefixes_total", "metallb_bgp_updates_total",
	"up",
}

// TestExportedMatchesSource finds every name in the list in the code that
// registers it, so a renamed metric fails here, not in an operator's
// alerting.
func TestExportedMatchesSource(t *testing.T) {
	var src strings.Builder
	for _, glob := range []string{"controller/app/*.go", "speaker/app/*.go", "internal/layer2/*.go", "internal/bgp/*.go"} {
		files, _ := filepath.Glob(filepath.Join(root, glob))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	code := src.String()
	// Names are written whole or as Namespace/Subsystem/Name parts.
	for _, m := range exported {
		if m == "up" {
			continue
		}
		whole := `"` + m + `"`
		parts := strings.SplitN(m, "_", 3)
		split := regexp.MustCompile(`Namespace: "` + parts[0] + `", Subsystem: "` + parts[1] + `", Name: "` + parts[2] + `"`)
		if !strings.Contains(code, whole) && !split.MatchString(code) {
			t.Errorf("metric %s is not registered anywhere in the controller or speaker", m)
		}
	}
}

var (
	metricRE   = regexp.MustCompile(`\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|\[|\)|$| offset| unless| and| or| ==| >| <| /| -| \+| \*)`)
	promqlWord = map[string]bool{}
)

func init() {
	for _, w := range strings.Fields("by without on ignoring group_left group_right sum max min avg count count_values stddev stdvar topk bottomk quantile " +
		"rate irate increase delta idelta changes resets absent absent_over_time max_over_time min_over_time avg_over_time count_over_time sum_over_time " +
		"last_over_time present_over_time vector scalar time timestamp label_replace label_join histogram_quantile clamp_min clamp_max abs round " +
		"offset unless and or bool humanize humanizePercentage") {
		promqlWord[w] = true
	}
}

// metricNames is a rough scan of a PromQL expression for the metric names
// it selects: identifiers followed by a selector, range, or operator that
// are not PromQL keywords, functions, or labels inside by (...).
func metricNames(expr string) []string {
	clean := regexp.MustCompile(`(by|without|on|ignoring) \([^)]*\)`).ReplaceAllString(expr, "")
	clean = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(clean, "{}")
	clean = regexp.MustCompile(`\[[^\]]*\]`).ReplaceAllString(clean, "[]")
	var out []string
	for _, m := range metricRE.FindAllStringSubmatch(clean, -1) {
		name := m[1]
		if promqlWord[name] || regexp.MustCompile(`^[0-9]`).MatchString(name) {
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}
