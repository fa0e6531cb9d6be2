package bgpmodel

import (
	"errors"
	"testing"
)

func TestParseCommunity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Community
		err  bool
	}{
		{in: "0:0", want: StandardCommunity(0, 0)},
		{in: "65535:65281", want: StandardCommunity(65535, 65281)},
		{in: "64512:100", want: StandardCommunity(64512, 100)},
		{in: "007:8", want: StandardCommunity(7, 8)},
		{in: "large:0:0:0", want: LargeCommunity(0, 0, 0)},
		{in: "large:4294967295:1:2", want: LargeCommunity(4294967295, 1, 2)},
		{in: "large:64512:1:4294967295", want: LargeCommunity(64512, 1, 4294967295)},
		{in: "", err: true},
		{in: ":", err: true},
		{in: "1:", err: true},
		{in: ":1", err: true},
		{in: "65536:1", err: true},
		{in: "1:65536", err: true},
		{in: "1:2:3", err: true},
		{in: "+1:2", err: true},
		{in: "-1:2", err: true},
		{in: " 1:2", err: true},
		{in: "0x1:2", err: true},
		{in: "1_0:2", err: true},
		{in: "large:1:2", err: true},
		{in: "large:1:2:3:4", err: true},
		{in: "large:4294967296:1:2", err: true},
		{in: "LARGE:1:2:3", err: true},
		{in: "no-export", err: true},
		{in: "large:", err: true},
	} {
		got, err := ParseCommunity(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("ParseCommunity(%q) = %v, want error", tc.in, got)
			} else if !errors.Is(err, ErrCommunitySyntax) {
				t.Errorf("ParseCommunity(%q) error %v does not wrap ErrCommunitySyntax", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseCommunity(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestCommunityAccessors(t *testing.T) {
	c := StandardCommunity(64512, 7)
	if c.IsLarge() || c.Value() != 64512<<16|7 || c.String() != "64512:7" {
		t.Errorf("standard accessors wrong: %v %d %s", c.IsLarge(), c.Value(), c)
	}
	if g, l1, l2 := c.Parts(); g|l1|l2 != 0 {
		t.Errorf("Parts of a standard community = %d %d %d", g, l1, l2)
	}
	l := LargeCommunity(1, 2, 3)
	if g, l1, l2 := l.Parts(); !l.IsLarge() || g != 1 || l1 != 2 || l2 != 3 || l.Value() != 0 || l.String() != "large:1:2:3" {
		t.Errorf("large accessors wrong: %v %d %d %d %s", l.IsLarge(), g, l1, l2, l)
	}
}

func TestParseCommunitiesReportsEveryError(t *testing.T) {
	got, err := ParseCommunities([]string{"1:2", "bad", "large:1:2:3", "70000:1"})
	if len(got) != 2 || got[0] != StandardCommunity(1, 2) || got[1] != LargeCommunity(1, 2, 3) {
		t.Errorf("good values = %v", got)
	}
	if err == nil {
		t.Fatal("no error for two bad communities")
	}
	var n int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if errors.Is(e, ErrCommunitySyntax) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("got %d community errors, want 2: %v", n, err)
	}
}

// FuzzParseCommunity checks that parsing never panics and that every
// accepted input prints to a canonical form that parses to the same value.
func FuzzParseCommunity(f *testing.F) {
	for _, s := range []string{"0:0", "65535:65282", "large:1:2:3", "1:65536", "large:4294967295:0:1", "", "::", "large:::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCommunity(s)
		if err != nil {
			return
		}
		back, err := ParseCommunity(c.String())
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", s, c.String(), err)
		}
		if back != c {
			t.Fatalf("round trip of %q: %v != %v", s, back, c)
		}
	})
}
