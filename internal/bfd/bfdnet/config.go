package bfdnet

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/barelb/barelb/internal/bfd"
)

// UDP ports of RFC 5881 and RFC 5883.
const (
	SingleHopPort = 3784
	MultiHopPort  = 4784
)

// Config is one BFD peer.
type Config struct {
	// Local is the source address; it may be invalid (zero) for
	// single-hop sessions, where the kernel then picks it. Multi-hop
	// sessions need it, as their packets are matched to the session by it.
	Local netip.Addr
	// Remote is the peer's address. An IPv6 link-local address needs
	// Interface.
	Remote netip.Addr
	// Interface binds a single-hop session to a device: packets go out
	// through it and are accepted only from it.
	Interface string
	// MultiHop selects RFC 5883 (port 4784, MinimumTTL check).
	MultiHop bool
	Profile  bfd.Profile
}

// Key identifies a session in a Manager.
type Key struct {
	Remote, Local netip.Addr
	Interface     string
	MultiHop      bool
}

// Key returns the identity of c: adding a Config with the same key again
// updates the session's profile in place.
func (c Config) Key() Key {
	return Key{Remote: c.Remote, Local: c.Local, Interface: c.Interface, MultiHop: c.MultiHop}
}

func (k Key) String() string {
	s := k.Remote.String()
	if k.Interface != "" {
		s += "%" + k.Interface
	}
	if k.MultiHop {
		s += " multihop"
	}
	if k.Local.IsValid() {
		s += " from " + k.Local.String()
	}
	return s
}

// validate applies the profile defaults and checks c, returning every
// problem at once.
func (c Config) validate() (Config, error) {
	c.Profile = c.Profile.WithDefaults()
	var errs []error
	if err := c.Profile.Validate(); err != nil {
		errs = append(errs, err)
	}
	c.Remote, c.Local = c.Remote.Unmap(), c.Local.Unmap()
	switch {
	case !c.Remote.IsValid() || c.Remote.IsUnspecified() || c.Remote.IsMulticast():
		errs = append(errs, fmt.Errorf("bfdnet: remote address %v is not a unicast address", c.Remote))
	case c.Local.IsValid() && c.Local.Is4() != c.Remote.Is4():
		errs = append(errs, fmt.Errorf("bfdnet: local %v and remote %v are of different families", c.Local, c.Remote))
	}
	if c.MultiHop && !c.Local.IsValid() {
		errs = append(errs, errors.New("bfdnet: a multi-hop session needs a local address"))
	}
	if c.MultiHop && c.Interface != "" {
		errs = append(errs, errors.New("bfdnet: a multi-hop session cannot be bound to an interface"))
	}
	if c.Remote.Is6() && c.Remote.IsLinkLocalUnicast() && c.Interface == "" {
		errs = append(errs, fmt.Errorf("bfdnet: link-local remote %v needs an interface", c.Remote))
	}
	c.Remote = c.Remote.WithZone("")
	return c, errors.Join(errs...)
}
