package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ConfigurationStateResult is the verdict on the configuration a component loaded.
// +kubebuilder:validation:Enum=Valid;Invalid;Unknown
type ConfigurationStateResult string

// The possible verdicts.
const (
	ConfigurationStateValid   ConfigurationStateResult = "Valid"
	ConfigurationStateInvalid ConfigurationStateResult = "Invalid"
	ConfigurationStateUnknown ConfigurationStateResult = "Unknown"
)

// ConfigurationStateStatus reports whether a component accepted the configuration.
type ConfigurationStateStatus struct {
	// Result is Valid when every configuration object was accepted.
	// +optional
	Result ConfigurationStateResult `json:"result,omitempty"`
	// ErrorSummary lists every problem found, naming the objects involved;
	// empty when Result is Valid.
	// +optional
	ErrorSummary string `json:"errorSummary,omitempty"`
	// Conditions carry the detail per reconciler.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Announcements are barelb's own: a speaker lists, per LoadBalancer
	// IP it considered for layer 2, whether it announces the IP and, if
	// not, why. Sorted by IP. Atomic: one writer replaces it whole, and
	// managedFields then track one field instead of one entry per IP
	// (which doubled the stored object).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=4096
	Announcements []AnnouncementState `json:"announcements,omitempty"`
	// AnnouncementsOmitted counts the IPs left out of Announcements to
	// keep the object small (beyond 4096 IPs).
	// +optional
	AnnouncementsOmitted int32 `json:"announcementsOmitted,omitempty"`
	// Members is a speaker's memberlist view; absent when memberlist is
	// disabled.
	// +optional
	Members *MembersState `json:"members,omitempty"`
	// BGPAnnouncements are barelb's own: a speaker lists, per LoadBalancer
	// IP it considered for BGP, whether it advertises the IP, to which
	// peers, and if not, why. Empty when no BGPPeer or BGPAdvertisement
	// exists; an IP whose pool only L2Advertisements cover is left to
	// Announcements. Sorted by IP; atomic like Announcements.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=4096
	BGPAnnouncements []BGPAnnouncementState `json:"bgpAnnouncements,omitempty"`
	// BGPAnnouncementsOmitted counts the IPs left out of BGPAnnouncements
	// (the two lists together hold at most 4096 entries).
	// +optional
	BGPAnnouncementsOmitted int32 `json:"bgpAnnouncementsOmitted,omitempty"`
	// BGPSessions are this node's BGP sessions, one per BGPPeer it runs,
	// sorted by peer.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	BGPSessions []BGPSessionState `json:"bgpSessions,omitempty"`
}

// BGPAnnouncementState is one speaker's BGP verdict on one LoadBalancer IP.
type BGPAnnouncementState struct {
	// IP is the LoadBalancer IP.
	IP string `json:"ip"`
	// Advertised is true when a session that is established carries it.
	// +optional
	Advertised bool `json:"advertised,omitempty"`
	// Peers are the BGPPeers with an established session that receive it.
	// +optional
	Peers []string `json:"peers,omitempty"`
	// PeersDown are the BGPPeers that would receive it but whose session
	// is not established.
	// +optional
	PeersDown []string `json:"peersDown,omitempty"`
	// Reason says why not, as a constant (PeerNotEstablished, NoPeer,
	// NoBGPAdvertisement, ServiceNotSelected, NodeNotSelected,
	// NoLocalEndpoint, NodeExcluded, ...).
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains Reason in words.
	// +optional
	Message string `json:"message,omitempty"`
}

// BGPSessionState is one BGP session of a speaker.
type BGPSessionState struct {
	// Peer is the BGPPeer's name.
	Peer string `json:"peer"`
	// Address is the peer's address and port.
	// +optional
	Address string `json:"address,omitempty"`
	// Established is true when the session carries routes.
	// +optional
	Established bool `json:"established,omitempty"`
	// Message says why the session is not established (or why it last
	// went down).
	// +optional
	Message string `json:"message,omitempty"`
}

// AnnouncementState is one speaker's verdict on one LoadBalancer IP.
type AnnouncementState struct {
	// IP is the LoadBalancer IP.
	IP string `json:"ip"`
	// Announced is true when this node answers ARP/NDP for the IP.
	// +optional
	Announced bool `json:"announced,omitempty"`
	// Reason says why not, as a constant (NotElected, NodeNotSelected,
	// NoLocalEndpoint, AnnounceInterfaceUnavailable, ...).
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains Reason in words.
	// +optional
	Message string `json:"message,omitempty"`
	// Winner is the node that announces the IP instead (Reason NotElected).
	// +optional
	Winner string `json:"winner,omitempty"`
}

// MembersState is the memberlist view of one speaker.
type MembersState struct {
	// Alive members, this node included, sorted.
	// +optional
	Alive []string `json:"alive,omitempty"`
	// Suspect members: they missed probes and may be declared dead soon.
	// +optional
	Suspect []string `json:"suspect,omitempty"`
	// Dead are the cluster's Nodes memberlist does not list (dead, left
	// or never joined).
	// +optional
	Dead []string `json:"dead,omitempty"`
}

// ConfigurationState is written by the controller and each speaker to say
// whether the barelb configuration they loaded is valid. As in MetalLB,
// the labels metallb.io/component-type ("controller" or "speaker") and,
// for a speaker, metallb.io/node-name tell whose verdict it is.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=barelb
// +kubebuilder:printcolumn:name="Result",type=string,JSONPath=`.status.result`
// +kubebuilder:printcolumn:name="ErrorSummary",type=string,JSONPath=`.status.errorSummary`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ConfigurationState struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status ConfigurationStateStatus `json:"status,omitempty"`
}

// ConfigurationStateList is a list of ConfigurationState.
//
// +kubebuilder:object:root=true
type ConfigurationStateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ConfigurationState `json:"items"`
}

func init() {
	register(&ConfigurationState{}, &ConfigurationStateList{})
}
