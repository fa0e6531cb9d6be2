// Package config turns barelb's custom resources into one validated model.
//
// Build is a pure function: given every IPAddressPool, L2Advertisement,
// BGPAdvertisement, BGPPeer, Community and BFDProfile it returns the model
// the controller and speakers act on, plus every problem found, each naming
// the objects involved. A bad object is left out of the model (or, for a
// conflict between two objects, the newer one is), and everything else
// stays in: a new mistake never takes down addresses that already work.
// An object that could not even be decoded (Input.Unreadable, from
// kube.ListConfig) is reported the same way and is in none of the lists,
// so an object that was good and is then stored undecodable is left out
// as an invalid edit is: the controller keeps the addresses already
// assigned from it, and the speakers stop announcing what only it
// covered, until it is fixed.
package config
