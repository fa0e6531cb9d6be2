package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/e2e/lab"
)

// Flap: the announcing node's LAN link goes down for half a period and
// up for the other half, for a minute, once with the speakers' default
// --failback-delay and once with --failback-delay=0 (no damping). The
// client's neighbour entry for the IP is sampled every 20 ms throughout
// and until the IP is back home; every change of MAC in it is a move the
// client saw.

const (
	flapPeriod = 2 * time.Second
	flapFor    = time.Minute
)

// flapCase is one run of the flap bench.
type flapCase struct {
	name  string
	extra []string
}

var flapCases = []flapCase{
	{"undamped (--failback-delay=0)", []string{"--failback-delay=0"}},
	{"damped (default --failback-delay)", nil},
	// Without link-aware election the node cut off elects itself for
	// everything while its link is down (the 2 s hold after link-up
	// keeps its bursts from pulling the client over).
	{"damped, --link-aware-election=false", []string{"--link-aware-election=false"}},
}

// runFlaps runs every flapCase (whose name contains only, when set) on
// a lab of its own and prints moves per flap.
func runFlaps(ctx context.Context, root string, extra []string, only string) error {
	type result struct {
		name         string
		flaps, moves int
	}
	var out []result
	for i, fc := range flapCases {
		if only != "" && !strings.Contains(fc.name, only) {
			continue
		}
		flaps, moves, err := flapLab(ctx, root, fmt.Sprintf("bff%d", i), append(append(lab.SpeakerArgs(), extra...), fc.extra...))
		if err != nil {
			return fmt.Errorf("flap, %s: %w", fc.name, err)
		}
		out = append(out, result{fc.name, flaps, moves})
	}
	fmt.Printf("\nnode flapping (LAN link down/up every %v for %v), moves of %s seen by the client:\n", flapPeriod, flapFor, foIP)
	fmt.Printf("  %-36s %6s %6s %14s\n", "case", "flaps", "moves", "moves per flap")
	for _, r := range out {
		fmt.Printf("  %-36s %6d %6d %14.2f\n", r.name, r.flaps, r.moves, float64(r.moves)/float64(r.flaps))
	}
	return nil
}

func flapLab(ctx context.Context, root, prefix string, speakerArgs []string) (flaps, moves int, err error) {
	l, err := lab.Start(ctx, lab.Options{
		Prefix:     prefix,
		Manifests:  []string{filepath.Join(root, "config", "crd"), filepath.Join(root, "config", "rbac")},
		Controller: &lab.Program{Path: filepath.Join(root, "bin", "controller"), Args: []string{"--leader-elect=false"}},
		Speaker:    &lab.Program{Path: filepath.Join(root, "bin", "speaker"), Args: speakerArgs},
	})
	if err != nil {
		return 0, 0, err
	}
	defer closeLab(l)
	b := &bench{l: l, ctx: ctx}
	if err := b.setup(); err != nil {
		return 0, 0, err
	}
	v := b.home
	// A ping stream keeps the client's neighbour entry in use (an idle
	// one expires) and the kernel's answers from every node keep it
	// confirmed; only the speakers' gratuitous bursts change its MAC.
	p, err := startPing(l, foIP)
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	// Sample the client's entry until told to stop.
	stop, done := make(chan struct{}), make(chan int)
	go func() {
		last, n := b.neigh(), 0
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done <- n
				return
			case <-t.C:
			}
			if m := b.neigh(); m != "" && m != last {
				n++
				last = m
			}
		}
	}()
	defer func() {
		if stop != nil {
			close(stop)
			<-done
		}
	}()
	end := time.Now().Add(flapFor)
	for time.Now().Before(end) && ctx.Err() == nil {
		// The flapping is the workload: fixed periods, not
		// synchronisation.
		if err := l.CutLAN(v); err != nil {
			return flaps, 0, err
		}
		time.Sleep(flapPeriod / 2)
		if err := l.RestoreLAN(v); err != nil {
			return flaps, 0, err
		}
		flaps++
		time.Sleep(flapPeriod / 2)
	}
	if _, err := b.settled(v, 60*time.Second); err != nil {
		b.dumpStates()
		return flaps, 0, fmt.Errorf("after flapping, %s does not take %s back: %w", v.Name, foIP, err)
	}
	close(stop)
	moves = <-done
	stop = nil
	fmt.Printf("  %s: %d flaps of %s, %d moves\n", prefix, flaps, v.Name, moves)
	return flaps, moves, nil
}

// dumpStates prints every speaker's ConfigurationState view of the
// membership and of the bench's IP, for a run that did not settle.
func (b *bench) dumpStates() {
	var list v1beta1.ConfigurationStateList
	if err := b.c.List(b.ctx, &list, client.InNamespace(lab.ConfigNamespace)); err != nil {
		fmt.Fprintln(os.Stderr, "listing ConfigurationStates:", err)
		return
	}
	for _, c := range b.l.Components() {
		if !strings.HasPrefix(c.Name, "barelb-speaker") {
			continue
		}
		data, _ := os.ReadFile(c.Log)
		var keep []string
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "member joined") || strings.Contains(line, "member left") || strings.Contains(line, "ERR") || strings.Contains(line, "Refuting") || strings.Contains(line, "joine") {
				keep = append(keep, line)
			}
		}
		fmt.Fprintf(os.Stderr, "---- %s membership (%d lines):\n", c.Name, len(keep))
		for _, l := range keep[max(0, len(keep)-25):] {
			fmt.Fprintln(os.Stderr, "   ", l[:min(len(l), 300)])
		}
	}
	for _, st := range list.Items {
		fmt.Fprintf(os.Stderr, "  %s: members %+v\n", st.Name, st.Status.Members)
		for _, a := range st.Status.Announcements {
			if a.IP == foIP {
				fmt.Fprintf(os.Stderr, "    %s announced=%v %s %s\n", a.IP, a.Announced, a.Reason, a.Message)
			}
		}
	}
}
