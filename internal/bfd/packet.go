package bfd

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the only protocol version RFC 5880 defines.
const Version = 1

// HeaderLen is the length of the mandatory section of a control packet.
const HeaderLen = 24

// State is bfd.SessionState and the Sta field of a packet (RFC 5880 §4.1).
type State uint8

const (
	AdminDown State = 0
	Down      State = 1
	Init      State = 2
	Up        State = 3
)

func (s State) String() string {
	switch s {
	case AdminDown:
		return "AdminDown"
	case Down:
		return "Down"
	case Init:
		return "Init"
	case Up:
		return "Up"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Diag is the diagnostic code of a packet and bfd.LocalDiag (§4.1).
type Diag uint8

const (
	DiagNone                    Diag = 0
	DiagControlDetectionExpired Diag = 1
	DiagEchoFailed              Diag = 2
	DiagNeighborDown            Diag = 3
	DiagForwardingPlaneReset    Diag = 4
	DiagPathDown                Diag = 5
	DiagConcatenatedPathDown    Diag = 6
	DiagAdminDown               Diag = 7
	DiagReverseConcatenatedDown Diag = 8
)

var diagNames = [...]string{
	"no diagnostic",
	"control detection time expired",
	"echo function failed",
	"neighbor signaled session down",
	"forwarding plane reset",
	"path down",
	"concatenated path down",
	"administratively down",
	"reverse concatenated path down",
}

func (d Diag) String() string {
	if int(d) < len(diagNames) {
		return diagNames[d]
	}
	return fmt.Sprintf("diagnostic %d", uint8(d))
}

// AuthType is the Auth Type field of the authentication section (§4.1).
type AuthType uint8

const (
	AuthSimplePassword      AuthType = 1
	AuthKeyedMD5            AuthType = 2
	AuthMeticulousKeyedMD5  AuthType = 3
	AuthKeyedSHA1           AuthType = 4
	AuthMeticulousKeyedSHA1 AuthType = 5
)

// Auth is a parsed authentication section. Value is the password (simple
// password) or the digest/hash (MD5 and SHA1 types); Sequence is zero for
// simple password.
type Auth struct {
	Type     AuthType
	KeyID    uint8
	Sequence uint32
	Value    []byte
}

// Packet is a BFD control packet. Intervals are in microseconds, as on
// the wire.
type Packet struct {
	Diag  Diag
	State State
	// The flag bits, §4.1.
	Poll, Final, ControlPlaneIndependent, Demand, Multipoint bool
	DetectMult                                               uint8
	MyDiscr, YourDiscr                                       uint32
	DesiredMinTx, RequiredMinRx, RequiredMinEchoRx           uint32
	// Auth is non-nil exactly when the A bit is set.
	Auth *Auth
}

// Errors of Decode; each names the §6.8.6 rule that discards the packet.
var (
	ErrShort          = errors.New("bfd: packet shorter than its mandatory section")
	ErrVersion        = errors.New("bfd: version is not 1")
	ErrLength         = errors.New("bfd: length field below the minimum or beyond the payload")
	ErrDetectMult     = errors.New("bfd: detect multiplier is zero")
	ErrMultipoint     = errors.New("bfd: multipoint bit set")
	ErrMyDiscrZero    = errors.New("bfd: my discriminator is zero")
	ErrYourDiscrState = errors.New("bfd: your discriminator is zero but state is neither Down nor AdminDown")
	ErrAuthSection    = errors.New("bfd: malformed authentication section")
)

const (
	bitPoll   = 0x20
	bitFinal  = 0x10
	bitCPI    = 0x08
	bitAuth   = 0x04
	bitDemand = 0x02
	bitMulti  = 0x01
)

// Decode parses b, a UDP payload, and applies the checks of §6.8.6 that
// need no session. Bytes beyond the Length field are ignored, as the RFC
// only discards packets whose Length exceeds the payload.
func Decode(b []byte) (Packet, error) {
	var p Packet
	if len(b) < HeaderLen {
		return p, ErrShort
	}
	if b[0]>>5 != Version {
		return p, ErrVersion
	}
	p.Diag = Diag(b[0] & 0x1f)
	p.State = State(b[1] >> 6)
	flags := b[1]
	p.Poll = flags&bitPoll != 0
	p.Final = flags&bitFinal != 0
	p.ControlPlaneIndependent = flags&bitCPI != 0
	p.Demand = flags&bitDemand != 0
	p.Multipoint = flags&bitMulti != 0
	authBit := flags&bitAuth != 0
	p.DetectMult = b[2]
	length := int(b[3])
	minLen := HeaderLen
	if authBit {
		minLen = HeaderLen + 2
	}
	if length < minLen || length > len(b) {
		return p, ErrLength
	}
	if p.DetectMult == 0 {
		return p, ErrDetectMult
	}
	if p.Multipoint {
		return p, ErrMultipoint
	}
	p.MyDiscr = binary.BigEndian.Uint32(b[4:])
	p.YourDiscr = binary.BigEndian.Uint32(b[8:])
	p.DesiredMinTx = binary.BigEndian.Uint32(b[12:])
	p.RequiredMinRx = binary.BigEndian.Uint32(b[16:])
	p.RequiredMinEchoRx = binary.BigEndian.Uint32(b[20:])
	if p.MyDiscr == 0 {
		return p, ErrMyDiscrZero
	}
	if p.YourDiscr == 0 && p.State != Down && p.State != AdminDown {
		return p, ErrYourDiscrState
	}
	if authBit {
		a, err := decodeAuth(b[HeaderLen:length])
		if err != nil {
			return p, err
		}
		p.Auth = a
	}
	return p, nil
}

// decodeAuth parses the authentication section; its Auth Len must fill
// what the Length field leaves after the mandatory section (§6.7).
func decodeAuth(b []byte) (*Auth, error) {
	if len(b) < 2 || int(b[1]) != len(b) {
		return nil, ErrAuthSection
	}
	a := &Auth{Type: AuthType(b[0])}
	switch a.Type {
	case AuthSimplePassword:
		// Type, Len, Key ID, then a 1-16 byte password (§4.2).
		if len(b) < 4 || len(b) > 19 {
			return nil, ErrAuthSection
		}
		a.KeyID = b[2]
		a.Value = append([]byte(nil), b[3:]...)
	case AuthKeyedMD5, AuthMeticulousKeyedMD5, AuthKeyedSHA1, AuthMeticulousKeyedSHA1:
		// Type, Len, Key ID, Reserved, Sequence, digest (16 or 20 bytes).
		want := 24
		if a.Type == AuthKeyedSHA1 || a.Type == AuthMeticulousKeyedSHA1 {
			want = 28
		}
		if len(b) != want {
			return nil, ErrAuthSection
		}
		a.KeyID = b[2]
		a.Sequence = binary.BigEndian.Uint32(b[4:])
		a.Value = append([]byte(nil), b[8:]...)
	default:
		return nil, ErrAuthSection
	}
	return a, nil
}

// Len is the encoded length of p.
func (p *Packet) Len() int {
	n := HeaderLen
	if p.Auth != nil {
		n += p.Auth.len()
	}
	return n
}

func (a *Auth) len() int {
	if a.Type == AuthSimplePassword {
		return 3 + len(a.Value)
	}
	return 8 + len(a.Value)
}

// AppendEncode appends p in wire format to dst. The version is always 1;
// the A bit is set exactly when p.Auth is non-nil. Reserved bytes are
// written as zero.
func AppendEncode(dst []byte, p *Packet) []byte {
	var flags byte = byte(p.State&3) << 6
	for _, f := range []struct {
		on  bool
		bit byte
	}{{p.Poll, bitPoll}, {p.Final, bitFinal}, {p.ControlPlaneIndependent, bitCPI}, {p.Auth != nil, bitAuth}, {p.Demand, bitDemand}, {p.Multipoint, bitMulti}} {
		if f.on {
			flags |= f.bit
		}
	}
	dst = append(dst, Version<<5|byte(p.Diag&0x1f), flags, p.DetectMult, byte(p.Len()))
	dst = binary.BigEndian.AppendUint32(dst, p.MyDiscr)
	dst = binary.BigEndian.AppendUint32(dst, p.YourDiscr)
	dst = binary.BigEndian.AppendUint32(dst, p.DesiredMinTx)
	dst = binary.BigEndian.AppendUint32(dst, p.RequiredMinRx)
	dst = binary.BigEndian.AppendUint32(dst, p.RequiredMinEchoRx)
	if a := p.Auth; a != nil {
		dst = append(dst, byte(a.Type), byte(a.len()), a.KeyID)
		if a.Type != AuthSimplePassword {
			dst = append(dst, 0)
			dst = binary.BigEndian.AppendUint32(dst, a.Sequence)
		}
		dst = append(dst, a.Value...)
	}
	return dst
}

// Encode returns p in wire format.
func Encode(p *Packet) []byte { return AppendEncode(make([]byte, 0, p.Len()), p) }
