package bfd

import (
	"bytes"
	"errors"
	"testing"
)

func validPacket() Packet {
	return Packet{
		Diag: DiagNeighborDown, State: Up, Poll: true, ControlPlaneIndependent: true,
		DetectMult: 3, MyDiscr: 0x01020304, YourDiscr: 0x0a0b0c0d,
		DesiredMinTx: 300000, RequiredMinRx: 250000, RequiredMinEchoRx: 50000,
	}
}

func TestEncodeLayout(t *testing.T) {
	p := validPacket()
	got := Encode(&p)
	want := []byte{
		0x23,  // version 1, diag 3
		0xe8,  // state Up (3<<6) | P (0x20) | C (0x08)
		3, 24, // detect mult, length
		1, 2, 3, 4, // my discr
		0x0a, 0x0b, 0x0c, 0x0d,
		0x00, 0x04, 0x93, 0xe0, // 300000
		0x00, 0x03, 0xd0, 0x90, // 250000
		0x00, 0x00, 0xc3, 0x50, // 50000
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encode\n got %x\nwant %x", got, want)
	}
	back, err := Decode(got)
	if err != nil || back.Auth != nil || back != p {
		t.Fatalf("decode: %+v %v", back, err)
	}
}

func TestEncodeAuthSections(t *testing.T) {
	for _, a := range []Auth{
		{Type: AuthSimplePassword, KeyID: 7, Value: []byte("secret")},
		{Type: AuthKeyedMD5, KeyID: 1, Sequence: 42, Value: bytes.Repeat([]byte{0xaa}, 16)},
		{Type: AuthMeticulousKeyedSHA1, KeyID: 2, Sequence: 9, Value: bytes.Repeat([]byte{0xbb}, 20)},
	} {
		p := validPacket()
		p.Auth = &a
		b := Encode(&p)
		if b[1]&bitAuth == 0 || int(b[3]) != len(b) {
			t.Errorf("%v: A bit or length wrong: %x", a.Type, b)
		}
		back, err := Decode(b)
		if err != nil || back.Auth == nil || back.Auth.Type != a.Type || back.Auth.KeyID != a.KeyID ||
			back.Auth.Sequence != a.Sequence || !bytes.Equal(back.Auth.Value, a.Value) {
			t.Errorf("%v: round trip %+v %v", a.Type, back.Auth, err)
		}
	}
}

func TestDecodeDiscards(t *testing.T) {
	base := func() []byte { p := validPacket(); return Encode(&p) }
	cases := []struct {
		name string
		mod  func([]byte) []byte
		want error
	}{
		{"short", func(b []byte) []byte { return b[:23] }, ErrShort},
		{"version 0", func(b []byte) []byte { b[0] &^= 0xe0; return b }, ErrVersion},
		{"version 2", func(b []byte) []byte { b[0] = 2<<5 | b[0]&0x1f; return b }, ErrVersion},
		{"length below 24", func(b []byte) []byte { b[3] = 23; return b }, ErrLength},
		{"length beyond payload", func(b []byte) []byte { b[3] = 25; return b }, ErrLength},
		{"A bit with length 24", func(b []byte) []byte { b[1] |= bitAuth; return b }, ErrLength},
		{"detect mult 0", func(b []byte) []byte { b[2] = 0; return b }, ErrDetectMult},
		{"multipoint", func(b []byte) []byte { b[1] |= bitMulti; return b }, ErrMultipoint},
		{"my discr 0", func(b []byte) []byte { copy(b[4:8], []byte{0, 0, 0, 0}); return b }, ErrMyDiscrZero},
		{"your discr 0 in Up", func(b []byte) []byte { copy(b[8:12], []byte{0, 0, 0, 0}); return b }, ErrYourDiscrState},
		{"your discr 0 in Init", func(b []byte) []byte {
			copy(b[8:12], []byte{0, 0, 0, 0})
			b[1] = b[1]&0x3f | byte(Init)<<6
			return b
		}, ErrYourDiscrState},
		{"auth len disagrees", func(b []byte) []byte {
			b[1] |= bitAuth
			b = append(b, byte(AuthSimplePassword), 5, 1, 'x')
			b[3] = byte(len(b))
			return b
		}, ErrAuthSection},
		{"auth unknown type", func(b []byte) []byte {
			b[1] |= bitAuth
			b = append(b, 9, 4, 1, 'x')
			b[3] = byte(len(b))
			return b
		}, ErrAuthSection},
		{"md5 too short", func(b []byte) []byte {
			b[1] |= bitAuth
			b = append(b, byte(AuthKeyedMD5), 8, 1, 0, 0, 0, 0, 1)
			b[3] = byte(len(b))
			return b
		}, ErrAuthSection},
		{"password empty", func(b []byte) []byte {
			b[1] |= bitAuth
			b = append(b, byte(AuthSimplePassword), 3, 1)
			b[3] = byte(len(b))
			return b
		}, ErrAuthSection},
	}
	for _, c := range cases {
		if _, err := Decode(c.mod(base())); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// Accepted edge cases: your discr 0 in Down and AdminDown, trailing
	// bytes beyond Length.
	for _, st := range []State{Down, AdminDown} {
		b := base()
		copy(b[8:12], []byte{0, 0, 0, 0})
		b[1] = b[1]&0x3f | byte(st)<<6
		if _, err := Decode(append(b, 0xff, 0xff)); err != nil {
			t.Errorf("state %v with your discr 0 and trailing bytes: %v", st, err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	p := validPacket()
	buf := Encode(&p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEncode(b *testing.B) {
	p := validPacket()
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEncode(buf[:0], &p)
	}
}
