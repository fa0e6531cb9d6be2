package v1beta2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DynamicASNMode accepts a peer whose AS number is learnt from its OPEN.
type DynamicASNMode string

// The dynamic ASN modes.
const (
	// InternalASNMode accepts only a peer in our own AS (iBGP).
	InternalASNMode DynamicASNMode = "internal"
	// ExternalASNMode accepts only a peer in another AS (eBGP).
	ExternalASNMode DynamicASNMode = "external"
)

// BGPPeerSpec describes one BGP session the speakers open.
//
// +kubebuilder:validation:XValidation:rule="has(self.peerASN) != has(self.dynamicASN)",message="set exactly one of peerASN and dynamicASN"
// +kubebuilder:validation:XValidation:rule="has(self.peerAddress) != has(self.interface)",message="set exactly one of peerAddress and interface"
// +kubebuilder:validation:XValidation:rule="!has(self.password) || !has(self.passwordSecret) || !has(self.passwordSecret.name) || size(self.passwordSecret.name) == 0",message="set at most one of password and passwordSecret"
// +kubebuilder:validation:XValidation:rule="!has(self.ebgpMultiHop) || !self.ebgpMultiHop || ((!has(self.peerASN) || self.peerASN != self.myASN) && (!has(self.dynamicASN) || self.dynamicASN != 'internal'))",message="ebgpMultiHop applies to eBGP peers only; this peer is iBGP (peerASN equals myASN, or dynamicASN is internal)"
// +kubebuilder:validation:XValidation:rule="!has(self.holdTime) || !has(self.keepaliveTime) || duration(self.holdTime) == duration('0s') || duration(self.keepaliveTime) < duration(self.holdTime)",message="keepaliveTime must be shorter than holdTime"
type BGPPeerSpec struct {
	// MyASN is the local AS number (4-byte ASNs allowed).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	MyASN int64 `json:"myASN"`

	// ASN is the peer's AS number; exclusive with dynamicASN.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	ASN int64 `json:"peerASN,omitempty"`

	// LocalASN is the AS number this one session presents to the peer in
	// place of myASN (FRR's "local-as N no-prepend replace-as"): the peer
	// sees only LocalASN, and the speaker's other sessions keep myASN. As
	// with FRR, it applies to eBGP sessions only: on an iBGP peer it is
	// reported and the peer is not run.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	LocalASN int64 `json:"localASN,omitempty"`

	// DynamicASN learns the peer's AS from its OPEN message: internal
	// accepts only our own AS, external only another.
	// +optional
	// +kubebuilder:validation:Enum=internal;external
	DynamicASN DynamicASNMode `json:"dynamicASN,omitempty"`

	// Address is the peer's IPv4 or IPv6 address.
	// +optional
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="peerAddress must be an IP address"
	Address string `json:"peerAddress,omitempty"`

	// Interface asks for unnumbered peering over a node interface: the
	// session runs to the one IPv6 link-local neighbour on that
	// point-to-point link and carries IPv4 and IPv6 (IPv4 with the
	// link-local next hop, RFC 8950).
	// +optional
	Interface string `json:"interface,omitempty"`

	// SrcAddress is the local address to connect from.
	// +optional
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="sourceAddress must be an IP address"
	SrcAddress string `json:"sourceAddress,omitempty"`

	// Port is the peer's TCP port.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16384
	// +kubebuilder:default:=179
	Port uint16 `json:"peerPort,omitempty"`

	// HoldTime is the requested BGP hold time: 0 or at least 3s.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) == duration('0s') || duration(self) >= duration('3s')",message="holdTime must be 0 or at least 3s"
	HoldTime *metav1.Duration `json:"holdTime,omitempty"`

	// KeepaliveTime is the requested BGP keepalive interval.
	// +optional
	KeepaliveTime *metav1.Duration `json:"keepaliveTime,omitempty"`

	// ConnectTime is how long to wait between connection attempts.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self).getSeconds() >= 1 && duration(self).getSeconds() <= 65535",message="connectTime must be between 1s and 65535s"
	// +kubebuilder:validation:XValidation:rule="duration(self).getMilliseconds() % 1000 == 0",message="connectTime must be a whole number of seconds"
	ConnectTime *metav1.Duration `json:"connectTime,omitempty"`

	// RouterID is the BGP router ID to advertise (an IPv4 address).
	// +optional
	// +kubebuilder:validation:XValidation:rule="isIP(self) && ip(self).family() == 4",message="routerID must be an IPv4 address"
	RouterID string `json:"routerID,omitempty"`

	// NodeSelectors limit the nodes that peer. Empty means all nodes.
	// +optional
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// Password enables TCP MD5 authentication.
	// +optional
	Password string `json:"password,omitempty"`

	// PasswordSecret names a kubernetes.io/basic-auth Secret, in the
	// speakers' namespace, whose "password" key is the MD5 password.
	// +optional
	PasswordSecret corev1.SecretReference `json:"passwordSecret,omitempty"`

	// BFDProfile names a BFDProfile: the speaker runs a BFD session beside
	// the BGP session, and BFD going down takes the BGP session down at once.
	// +optional
	BFDProfile string `json:"bfdProfile,omitempty"`

	// EnableGracefulRestart keeps the peer forwarding while the speaker restarts.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="enableGracefulRestart cannot be changed after creation"
	EnableGracefulRestart bool `json:"enableGracefulRestart,omitempty"`

	// EBGPMultiHop allows an eBGP peer more than one hop away.
	// +optional
	EBGPMultiHop bool `json:"ebgpMultiHop,omitempty"`

	// VRFName peers from a host VRF. The speaker cannot do this and
	// reports it on the peer.
	// +optional
	VRFName string `json:"vrf,omitempty"`

	// DisableMP is deprecated in favour of dualStackAddressFamily.
	// +optional
	// +kubebuilder:default:=false
	DisableMP bool `json:"disableMP,omitempty"`

	// DualStackAddressFamily carries both IPv4 and IPv6 prefixes over this one session.
	// +optional
	// +kubebuilder:default:=false
	DualStackAddressFamily bool `json:"dualStackAddressFamily,omitempty"`
}

// BGPPeerStatus reports whether the speakers could configure the peer.
type BGPPeerStatus struct {
	// Conditions say, for example, that a field cannot be honoured.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BGPPeer is a BGP router the speakers peer with.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=barelb
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.spec.peerAddress`
// +kubebuilder:printcolumn:name="ASN",type=string,JSONPath=`.spec.peerASN`
// +kubebuilder:printcolumn:name="BFD Profile",type=string,JSONPath=`.spec.bfdProfile`
// +kubebuilder:printcolumn:name="Multi Hops",type=string,JSONPath=`.spec.ebgpMultiHop`
type BGPPeer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BGPPeerSpec   `json:"spec,omitempty"`
	Status BGPPeerStatus `json:"status,omitempty"`
}

// BGPPeerList is a list of BGPPeer.
//
// +kubebuilder:object:root=true
type BGPPeerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPPeer `json:"items"`
}

func init() {
	register(&BGPPeer{}, &BGPPeerList{})
}
