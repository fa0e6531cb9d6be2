package bfd

import (
	"errors"
	"fmt"
	"time"
)

// Profile holds the per-peer settings of a MetalLB BFDProfile. Zero
// fields take MetalLB's defaults (see WithDefaults).
type Profile struct {
	// ReceiveInterval is bfd.RequiredMinRxInterval: the slowest rate the
	// local system wants to receive at.
	ReceiveInterval time.Duration
	// TransmitInterval is bfd.DesiredMinTxInterval while the session is Up.
	TransmitInterval time.Duration
	// DetectMultiplier is bfd.DetectMult, sent to the peer, which scales
	// its detection time by it.
	DetectMultiplier uint8
	// MinimumTTL is the lowest TTL (hop limit) a multi-hop packet may
	// arrive with. Single-hop sessions always require 255 (RFC 5881 §5),
	// as MetalLB documents this field for multi-hop sessions only.
	MinimumTTL uint8
	// PassiveMode: send nothing until the peer has sent a packet (§6.1).
	PassiveMode bool
	// EchoMode and EchoInterval are refused by Validate (see ErrEcho).
	EchoMode     bool
	EchoInterval time.Duration
}

// MetalLB's BFDProfile defaults and bounds.
const (
	DefaultInterval   = 300 * time.Millisecond
	DefaultDetectMult = 3
	DefaultMinimumTTL = 254
	MinInterval       = 10 * time.Millisecond
	MaxInterval       = 60 * time.Second
)

// ErrEcho explains why echo mode is refused.
var ErrEcho = errors.New("bfd: echoMode is not supported: the echo function (RFC 5880 §6.4, RFC 5881 §4) " +
	"sends packets addressed to the local system that the peer must loop back in its forwarding plane, " +
	"so the speaker would need raw sockets and a kernel that loops the peer's echoes in turn; " +
	"barelb runs asynchronous mode only, whose detection time is transmitInterval x detectMultiplier")

// WithDefaults returns p with zero fields replaced by MetalLB's defaults.
func (p Profile) WithDefaults() Profile {
	if p.ReceiveInterval == 0 {
		p.ReceiveInterval = DefaultInterval
	}
	if p.TransmitInterval == 0 {
		p.TransmitInterval = DefaultInterval
	}
	if p.DetectMultiplier == 0 {
		p.DetectMultiplier = DefaultDetectMult
	}
	if p.MinimumTTL == 0 {
		p.MinimumTTL = DefaultMinimumTTL
	}
	return p
}

// Validate checks p (after WithDefaults) against MetalLB's bounds and
// returns every problem, joined.
func (p Profile) Validate() error {
	var errs []error
	for _, iv := range []struct {
		name string
		v    time.Duration
	}{{"receiveInterval", p.ReceiveInterval}, {"transmitInterval", p.TransmitInterval}} {
		if iv.v < MinInterval || iv.v > MaxInterval {
			errs = append(errs, fmt.Errorf("bfd: %s %v outside %v..%v", iv.name, iv.v, MinInterval, MaxInterval))
		}
	}
	if p.DetectMultiplier < 2 {
		errs = append(errs, fmt.Errorf("bfd: detectMultiplier %d outside 2..255", p.DetectMultiplier))
	}
	if p.MinimumTTL < 1 || p.MinimumTTL > 254 {
		errs = append(errs, fmt.Errorf("bfd: minimumTtl %d outside 1..254", p.MinimumTTL))
	}
	if p.EchoMode {
		errs = append(errs, ErrEcho)
	}
	return errors.Join(errs...)
}
