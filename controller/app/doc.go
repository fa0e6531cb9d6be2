// Package app is barelb's controller: it gives LoadBalancer Services
// addresses from IPAddressPools and says why when it cannot.
//
// Reconcilers here only fetch objects, call the pure packages
// (internal/config, internal/lbspec, internal/allocator) and write the
// results: Service status, the ip-allocated-from-pool annotation, Events,
// IPAddressPool status, ConfigurationState and metrics.
package app
