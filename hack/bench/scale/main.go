// Command scale runs the scale benchmarks of the pure packages (make
// bench-scale) and prints them as one table per package, then checks the
// layer 2 election and the whole layer 2 plan (internal/l2plan's
// Compute and Planner) against their targets at 5,000 nodes and 50,000
// IPs:
//
//   - a cold election and a full plan under 1 s, one IP (Service) added
//     and one node gone or added under 10 ms each, and the plan's
//     per-event path (Planner.Sync with a whole Input, as the speaker
//     calls it, and the delta API: one Service's endpoints changed, one
//     node gone, back) under 10 ms each, printed as met or MISSED for
//     wall and CPU time (timing depends on the machine's load, so these
//     never fail the run);
//   - a node leaving moves about 1/N of the IPs (moved×N/ips near 1; the
//     run fails above 4) and no node holds more than the documented load
//     bound (the run fails when one does).
//
// Usage:
//
//	go run ./hack/bench/scale [-benchtime 300ms] [-bench Scale] [packages]
//
// With no packages it runs internal/config, internal/allocator,
// internal/election, internal/l2plan and internal/bgpplan.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var defaultPackages = []string{
	"./internal/config/", "./internal/allocator/", "./internal/election/",
	"./internal/l2plan/", "./internal/bgpplan/",
}

// result is one benchmark line.
type result struct {
	name    string
	n       int
	metrics map[string]float64
	order   []string // metric units in the order printed
}

var (
	lineRE = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)
	skipRE = regexp.MustCompile(`^\s*--- SKIP: (Benchmark\S+)`)
)

func main() {
	benchtime := flag.String("benchtime", "300ms", "go test -benchtime")
	bench := flag.String("bench", "Scale", "go test -bench pattern")
	jsonOut := flag.String("json", "", "also write every result to this file as JSON (hack/plot draws README's sizing figure from it)")
	flag.Parse()
	pkgs := flag.Args()
	if len(pkgs) == 0 {
		pkgs = defaultPackages
	}
	all := map[string]result{}
	failed := false
	for _, pkg := range pkgs {
		rs, skips, err := run(pkg, *bench, *benchtime)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", pkg, err)
			failed = true
		}
		table(os.Stdout, pkg, rs, skips)
		for _, r := range rs {
			all[r.name] = r
		}
	}
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, all); err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
	}
	if !checks(os.Stdout, all) || failed {
		os.Exit(1)
	}
}

// writeJSON writes the results, sorted by name, for hack/plot.
func writeJSON(path string, all map[string]result) error {
	type entry struct {
		Name    string             `json:"name"`
		Metrics map[string]float64 `json:"metrics"`
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]entry, 0, len(names))
	for _, n := range names {
		out = append(out, entry{Name: n, Metrics: all[n].metrics})
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// run runs one package's benchmarks, echoing go test's output to stderr.
func run(pkg, bench, benchtime string) ([]result, map[string]string, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", bench, "-benchmem", "-benchtime", benchtime, "-v", pkg)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	var rs []result
	skips := map[string]string{}
	lastMessage := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(os.Stderr, line)
		// go test prints a benchmark's skip message before its
		// "--- SKIP" line.
		if m := skipRE.FindStringSubmatch(line); m != nil {
			skips[m[1]] = lastMessage
			continue
		}
		if strings.HasPrefix(line, "    ") {
			_, lastMessage, _ = strings.Cut(strings.TrimSpace(line), ": ")
		} else {
			lastMessage = ""
		}
		if r, ok := parse(line); ok {
			rs = append(rs, r)
		}
	}
	return rs, skips, cmd.Wait()
}

func parse(line string) (result, bool) {
	m := lineRE.FindStringSubmatch(line)
	if m == nil {
		return result{}, false
	}
	n, _ := strconv.Atoi(m[3])
	r := result{name: m[1], n: n, metrics: map[string]float64{}}
	f := strings.Fields(m[4])
	for i := 0; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return result{}, false
		}
		r.metrics[f[i+1]] = v
		r.order = append(r.order, f[i+1])
	}
	return r, true
}

// table prints time as milliseconds, memory as MB and allocations per
// operation, then any custom metrics.
func table(w io.Writer, pkg string, rs []result, skips map[string]string) {
	fmt.Fprintf(w, "\n## %s\n\n", strings.Trim(pkg, "./"))
	fmt.Fprintf(w, "%-72s %12s %10s %12s  %s\n", "benchmark", "ms/op", "MB/op", "allocs/op", "other")
	for _, r := range rs {
		var other []string
		for _, u := range r.order {
			switch u {
			case "ns/op", "B/op", "allocs/op":
			default:
				other = append(other, fmt.Sprintf("%s=%g", u, r.metrics[u]))
			}
		}
		fmt.Fprintf(w, "%-72s %12.3f %10.2f %12.0f  %s\n", strings.TrimPrefix(r.name, "Benchmark"),
			r.metrics["ns/op"]/1e6, r.metrics["B/op"]/1e6, r.metrics["allocs/op"], strings.Join(other, " "))
	}
	for name, why := range skips {
		fmt.Fprintf(w, "%-72s %12s  %s\n", strings.TrimPrefix(name, "Benchmark"), "skipped", why)
	}
}

// checks prints the layer 2 targets, for the election alone and for the
// whole plan (internal/l2plan); it returns false when a property (not a
// timing) fails.
func checks(w io.Writer, all map[string]result) bool {
	const size = "nodes=5000/ips=50000"
	fmt.Fprintf(w, "\n## layer 2 election at 5,000 nodes and 50,000 IPs (internal/election)\n\n")
	ok := true
	timing(w, all, "full election", "BenchmarkScaleFull/"+size, 1000)
	timing(w, all, "one IP added", "BenchmarkScaleServiceAdded/"+size, 10)
	timing(w, all, "one node gone", "BenchmarkScaleNodeGone/"+size, 10)
	if r, found := all["BenchmarkScaleNodeGone/"+size]; found {
		m := r.metrics
		fmt.Fprintf(w, "%-40s %10.1f IPs of 50,000 (the leaver held %.1f): 1/%.0f of the IPs, ideal 1/5000; moved×N/ips = %.2f (fails above 4)\n",
			"a node leaving moves", m["moved/op"], m["leaver-held/op"], 50000/m["moved/op"], m["moved×N/ips"])
		if m["moved×N/ips"] > 4 {
			ok = false
		}
		ok = spread(w, m) && ok
	}
	fmt.Fprintf(w, "\n## layer 2 plan at 5,000 nodes and 50,000 Services (internal/l2plan: checks, groups, election)\n\n")
	for _, mix := range []string{"ipv4", "dual"} {
		name := func(what string) string {
			return "BenchmarkScalePlan/" + what + "/" + mix + "/nodes=5000/services=50000"
		}
		timing(w, all, "full plan, "+mix, name("full"), 1000)
		timing(w, all, "one Service added, "+mix, name("service-added"), 10)
		timing(w, all, "one node gone, "+mix, name("node-gone"), 10)
		timing(w, all, "one node added, "+mix, name("node-added"), 10)
		for _, what := range []string{"node-gone", "node-added"} {
			r, found := all[name(what)]
			if !found {
				continue
			}
			m := r.metrics
			fmt.Fprintf(w, "%-40s %10.1f IPs a change: moved×N/ips = %.2f (1 is the ideal; fails above 4)\n", what+" moves, "+mix, m["moved/op"], m["moved×N/ips"])
			if m["moved×N/ips"] > 4 {
				ok = false
			}
		}
		if r, found := all[name("full")]; found {
			ok = spread(w, r.metrics) && ok
		}
	}
	fmt.Fprintf(w, "\n## layer 2 plan per event at 5,000 nodes and 50,000 Services (internal/l2plan: Sync with a whole Input, as the speaker; -delta: SetService, DeleteNode, SetNode)\n\n")
	for _, mix := range []string{"ipv4", "dual"} {
		name := func(what string) string {
			return "BenchmarkScaleSync/" + what + "/" + mix + "/nodes=5000/services=50000"
		}
		timing(w, all, "Compute on every event, "+mix, name("compute"), 1000)
		timing(w, all, "Sync, nothing changed, "+mix, name("unchanged"), 10)
		for _, what := range []string{"service-changed", "node-gone", "node-back"} {
			timing(w, all, "Sync, "+what+", "+mix, name(what), 10)
			timing(w, all, "delta, "+what+", "+mix, name(what+"-delta"), 10)
			if r, found := all[name(what+"-delta")]; found && r.metrics["full-places/op"] > 0 {
				fmt.Fprintf(w, "%-40s %10.2f full elections an event (0 expected)\n", "delta, "+what+", "+mix, r.metrics["full-places/op"])
			}
		}
	}
	return ok
}

// timing prints one timing against its target, for wall and CPU time.
func timing(w io.Writer, all map[string]result, what, name string, limit float64) {
	r, found := all[name]
	if !found {
		fmt.Fprintf(w, "%-40s not measured\n", what)
		return
	}
	verdict := func(ms float64) string {
		if ms >= limit {
			return "MISSED"
		}
		return "met"
	}
	ms, cpu := r.metrics["ns/op"]/1e6, r.metrics["cpu-ms/op"]
	fmt.Fprintf(w, "%-40s wall %10.3f ms (%s), CPU %10.3f ms (%s); target < %g ms\n", what, ms, verdict(ms), cpu, verdict(cpu), limit)
}

// spread prints the load spread against the election's bound; false when
// a node is above it.
func spread(w io.Writer, m map[string]float64) bool {
	verdict, ok := "within", true
	if m["max-load"] > m["load-bound"] {
		verdict, ok = "ABOVE", false
	}
	lo := fmt.Sprintf("min %.0f", m["min-load"])
	if _, has := m["avg-load"]; has {
		lo = fmt.Sprintf("avg %.1f", m["avg-load"])
	}
	fmt.Fprintf(w, "%-40s %s, max %.0f units a node; bound ceil(6/5 · units/nodes) = %.0f: %s\n", "load spread", lo, m["max-load"], m["load-bound"], verdict)
	return ok
}
