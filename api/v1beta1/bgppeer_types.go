package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// BGPPeerSpec is the older form of a BGP peer, still served so manifests
// written for it keep working. Objects are stored as v1beta2; every field
// here has the same name and JSON shape there, so the API server converts
// between the versions without a webhook: the CRD states conversion
// strategy None, which also replaces the webhook of a MetalLB BGPPeer CRD
// when barelb's is applied over it.
// +kubebuilder:validation:XValidation:rule="!has(self.ebgpMultiHop) || !self.ebgpMultiHop || !has(self.peerASN) || self.peerASN != self.myASN",message="ebgpMultiHop applies to eBGP peers only; this peer is iBGP (peerASN equals myASN)"
type BGPPeerSpec struct {
	// MyASN is the local AS number (4-byte ASNs allowed).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	MyASN int64 `json:"myASN"`
	// ASN is the peer's AS number.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	ASN int64 `json:"peerASN"`
	// Address is the peer's address.
	Address string `json:"peerAddress"`
	// SrcAddress is the local address to connect from.
	// +optional
	SrcAddress string `json:"sourceAddress,omitempty"`
	// Port is the peer's TCP port.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=16384
	Port uint16 `json:"peerPort,omitempty"`
	// HoldTime is the requested BGP hold time.
	// +optional
	HoldTime *metav1.Duration `json:"holdTime,omitempty"`
	// KeepaliveTime is the requested BGP keepalive time.
	// +optional
	KeepaliveTime *metav1.Duration `json:"keepaliveTime,omitempty"`
	// RouterID is the BGP router ID to advertise.
	// +optional
	RouterID string `json:"routerID,omitempty"`
	// NodeSelectors limit the nodes that peer.
	// +optional
	NodeSelectors []NodeSelector `json:"nodeSelectors,omitempty"`
	// Password enables TCP MD5 authentication.
	// +optional
	Password string `json:"password,omitempty"`
	// BFDProfile names a BFDProfile.
	// +optional
	BFDProfile string `json:"bfdProfile,omitempty"`
	// EBGPMultiHop allows an eBGP peer more than one hop away.
	// +optional
	EBGPMultiHop bool `json:"ebgpMultiHop,omitempty"`
}

// NodeSelector is v1beta1's node selector; its JSON matches a LabelSelector.
type NodeSelector struct {
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	// +optional
	MatchExpressions []MatchExpression `json:"matchExpressions,omitempty"`
}

// MatchExpression is one label requirement of a NodeSelector.
type MatchExpression struct {
	Key string `json:"key"`
	// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist
	Operator string `json:"operator"`
	// +optional
	Values []string `json:"values,omitempty"`
}

// BGPPeerStatus is empty in v1beta1.
type BGPPeerStatus struct{}

// BGPPeer is a BGP router the speakers peer with (older version).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:deprecatedversion:warning="metallb.io/v1beta1 BGPPeer is deprecated; use metallb.io/v1beta2"
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
