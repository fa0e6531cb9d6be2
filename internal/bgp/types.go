package bgp

import "github.com/barelb/barelb/internal/bgpmodel"

// The values this package takes and returns live in bgpmodel, which links
// no GoBGP, so the speaker can speak of them while GoBGP runs in a process
// of its own (cmd/speaker-bgp, internal/bgpproc). The names here keep this
// package's own code and tests short.
type (
	Options             = bgpmodel.Options
	SessionState        = bgpmodel.SessionState
	PeerState           = bgpmodel.PeerState
	PeerErrors          = bgpmodel.PeerErrors
	AdvertisementErrors = bgpmodel.AdvertisementErrors
)

// The FSM and BFD states.
const (
	StateIdle        = bgpmodel.StateIdle
	StateConnect     = bgpmodel.StateConnect
	StateActive      = bgpmodel.StateActive
	StateOpenSent    = bgpmodel.StateOpenSent
	StateOpenConfirm = bgpmodel.StateOpenConfirm
	StateEstablished = bgpmodel.StateEstablished
	BFDUp            = bgpmodel.BFDUp
	BFDDown          = bgpmodel.BFDDown
)

// The sentinel errors (see bgpmodel).
var (
	ErrUnsupported    = bgpmodel.ErrUnsupported
	ErrInvalidPeer    = bgpmodel.ErrInvalidPeer
	ErrInvalidAdvert  = bgpmodel.ErrInvalidAdvert
	ErrDuplicatePeer  = bgpmodel.ErrDuplicatePeer
	ErrServerShutDown = bgpmodel.ErrServerShutDown
	ErrNoNeighbor     = bgpmodel.ErrNoNeighbor
)
