package bfd

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that Decode never panics and that whatever it accepts
// encodes back to the same bytes (its mandatory and authentication
// sections, with reserved bytes zero) and decodes to the same packet.
func FuzzDecode(f *testing.F) {
	p := validPacket()
	f.Add(Encode(&p))
	p.Auth = &Auth{Type: AuthKeyedSHA1, KeyID: 3, Sequence: 5, Value: make([]byte, 20)}
	f.Add(Encode(&p))
	p.Auth = &Auth{Type: AuthSimplePassword, KeyID: 1, Value: []byte("pw")}
	f.Add(Encode(&p))
	f.Add([]byte{0x20, 0x40, 3, 24, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		// Without an authentication section, bytes the Length field
		// covers beyond the mandatory section carry nothing (§6.8.6 only
		// bounds Length from below and by the payload).
		if p.Len() > int(b[3]) {
			t.Fatalf("decoded length %d beyond the Length field %d", p.Len(), b[3])
		}
		want := append([]byte(nil), b[:p.Len()]...)
		want[3] = byte(p.Len())
		if p.Auth != nil && p.Auth.Type != AuthSimplePassword {
			want[HeaderLen+3] = 0 // reserved byte
		}
		got := Encode(&p)
		if !bytes.Equal(got, want) {
			t.Fatalf("re-encode\n got %x\nwant %x", got, want)
		}
		q, err := Decode(got)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if q.Auth != nil && p.Auth != nil {
			qa, pa := *q.Auth, *p.Auth
			if !bytes.Equal(qa.Value, pa.Value) {
				t.Fatalf("auth value differs: %x vs %x", qa.Value, pa.Value)
			}
			if qa.Type != pa.Type || qa.KeyID != pa.KeyID || qa.Sequence != pa.Sequence {
				t.Fatalf("auth differs: %+v vs %+v", q.Auth, p.Auth)
			}
			q.Auth, p.Auth = nil, nil
		}
		if q != p {
			t.Fatalf("re-decode differs: %+v vs %+v", q, p)
		}
	})
}
