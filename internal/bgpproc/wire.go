package bgpproc

import (
	"errors"

	"github.com/barelb/barelb/internal/bgpmodel"
)

// wireErr is an error as it crosses the socket: its text and which of
// bgpmodel.Sentinels it wraps (their indexes).
type wireErr struct {
	Msg string
	Is  []int
}

// Errs is a call's error: per object (Keyed, for PeerErrors and
// AdvertisementErrors) or one for the call (Other), or nothing.
type Errs struct {
	Keyed map[string]wireErr
	Other *wireErr
}

func toWire(err error) wireErr {
	w := wireErr{Msg: err.Error()}
	for i, s := range bgpmodel.Sentinels {
		if errors.Is(err, s) {
			w.Is = append(w.Is, i)
		}
	}
	return w
}

// encodeErr flattens the error of a SetPeers or SetAdvertisements call.
func encodeErr(err error) Errs {
	var e Errs
	if err == nil {
		return e
	}
	var keyed map[string]error
	var pe bgpmodel.PeerErrors
	var ae bgpmodel.AdvertisementErrors
	switch {
	case errors.As(err, &pe):
		keyed = pe
	case errors.As(err, &ae):
		keyed = ae
	default:
		w := toWire(err)
		e.Other = &w
		return e
	}
	e.Keyed = make(map[string]wireErr, len(keyed))
	for k, v := range keyed {
		e.Keyed[k] = toWire(v)
	}
	return e
}

// remoteErr is an error the child returned: its text, and errors.Is
// true for the sentinels it wrapped there.
type remoteErr struct {
	msg string
	is  []error
}

func (e *remoteErr) Error() string { return e.msg }

func (e *remoteErr) Is(target error) bool {
	for _, s := range e.is {
		if s == target {
			return true
		}
	}
	return false
}

func fromWire(w wireErr) error {
	e := &remoteErr{msg: w.Msg}
	for _, i := range w.Is {
		if i >= 0 && i < len(bgpmodel.Sentinels) {
			e.is = append(e.is, bgpmodel.Sentinels[i])
		}
	}
	return e
}

// decodeErr rebuilds what encodeErr flattened; peers says which keyed
// kind the call returns.
func decodeErr(e Errs, peers bool) error {
	switch {
	case e.Other != nil:
		return fromWire(*e.Other)
	case len(e.Keyed) == 0:
		return nil
	case peers:
		out := make(bgpmodel.PeerErrors, len(e.Keyed))
		for k, v := range e.Keyed {
			out[k] = fromWire(v)
		}
		return out
	default:
		out := make(bgpmodel.AdvertisementErrors, len(e.Keyed))
		for k, v := range e.Keyed {
			out[k] = fromWire(v)
		}
		return out
	}
}
