package logsetup

import (
	"flag"
	"slices"
	"testing"
)

// The flags given are what InUse hands a child process; bad values fail.
func TestFlagsAndInUse(t *testing.T) {
	var f Flags
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f.Bind(fs)
	if err := fs.Parse([]string{"--zap-log-level=debug", "--zap-time-encoding=rfc3339nano", "--zap-devel"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Logger(); err != nil {
		t.Fatal(err)
	}
	want := []string{"--zap-log-level=debug", "--zap-time-encoding=rfc3339nano", "--zap-devel=true"}
	if got := InUse(); !slices.Equal(got, want) {
		t.Errorf("InUse %q, want %q", got, want)
	}
	// The child parses them back to the same settings.
	var g Flags
	gs := flag.NewFlagSet("child", flag.ContinueOnError)
	g.Bind(gs)
	if err := gs.Parse(InUse()); err != nil || g.level != "debug" || g.timeEnc != "rfc3339nano" || !g.devel {
		t.Errorf("child parsed %+v, %v", g, err)
	}

	for _, bad := range [][]string{{"--zap-log-level=loud"}, {"--zap-encoder=xml"}, {"--zap-log-level=0"}} {
		var b Flags
		bs := flag.NewFlagSet("bad", flag.ContinueOnError)
		b.Bind(bs)
		if err := bs.Parse(bad); err != nil {
			t.Errorf("%v: parse: %v", bad, err)
			continue
		}
		if _, err := b.Logger(); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
