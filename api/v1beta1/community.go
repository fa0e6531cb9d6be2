package v1beta1

// CommunityValue is a BGP community: standard "65000:100" (two 16-bit
// numbers) or large "large:65000:1:2" (three 32-bit numbers).
//
// +kubebuilder:validation:MaxLength=48
// +kubebuilder:validation:XValidation:rule="(self.matches('^[0-9]{1,5}:[0-9]{1,5}$') && self.split(':').all(p, int(p) <= 65535)) || (self.matches('^large:[0-9]{1,10}:[0-9]{1,10}:[0-9]{1,10}$') && int(self.split(':')[1]) <= 4294967295 && int(self.split(':')[2]) <= 4294967295 && int(self.split(':')[3]) <= 4294967295)",message="must be a standard community 'AS:value' with two numbers up to 65535, or a large community 'large:AS:value1:value2' with three numbers up to 4294967295"
type CommunityValue string

// CommunityRef is an entry of BGPAdvertisement.spec.communities: either a
// literal community or the name of an alias from a Community object.
// Anything containing ':' is read as a literal and must be valid.
//
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="!self.contains(':') || (self.matches('^[0-9]{1,5}:[0-9]{1,5}$') && self.split(':').all(p, int(p) <= 65535)) || (self.matches('^large:[0-9]{1,10}:[0-9]{1,10}:[0-9]{1,10}$') && int(self.split(':')[1]) <= 4294967295 && int(self.split(':')[2]) <= 4294967295 && int(self.split(':')[3]) <= 4294967295)",message="must be a Community alias name, a standard community 'AS:value' with two numbers up to 65535, or a large community 'large:AS:value1:value2' with three numbers up to 4294967295"
type CommunityRef string
