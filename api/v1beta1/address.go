package v1beta1

// AddressRange is one entry of IPAddressPool.spec.addresses: a CIDR
// ("198.18.0.0/24"), a single address, or an inclusive range
// ("198.18.0.10-198.18.0.20"). It is a string on the wire, as in MetalLB.
//
// The rules below let the API server refuse bad entries: malformed
// addresses, mixed-family ranges and inverted IPv4 ranges. A CIDR with
// host bits set ("198.51.100.10/24") is accepted, as MetalLB accepts it,
// and means its network (198.51.100.0/24); internal/config says so on the
// pool. An inverted IPv6 range cannot be caught here within the API
// server's CEL cost budget (CEL has no IP ordering and string expansion
// is too costly), so internal/config reports it as a problem on the pool.
//
// +kubebuilder:validation:MaxLength=100
// +kubebuilder:validation:XValidation:rule="isCIDR(self) || isIP(self) || (self.split('-').size() == 2 && isIP(self.split('-')[0].trim()) && isIP(self.split('-')[1].trim()))",message="must be a CIDR (198.18.0.0/24), a single IP address, or a range first-last (198.18.0.10-198.18.0.20)"
// +kubebuilder:validation:XValidation:rule="!(self.split('-').size() == 2 && isIP(self.split('-')[0].trim()) && isIP(self.split('-')[1].trim())) || ip(self.split('-')[0].trim()).family() == ip(self.split('-')[1].trim()).family()",message="range mixes IPv4 and IPv6 addresses"
// +kubebuilder:validation:XValidation:rule="!(self.split('-').size() == 2 && isIP(self.split('-')[0].trim()) && isIP(self.split('-')[1].trim()) && ip(self.split('-')[0].trim()).family() == 4 && ip(self.split('-')[1].trim()).family() == 4) || (int(self.split('-')[0].trim().split('.')[0]) * 16777216 + int(self.split('-')[0].trim().split('.')[1]) * 65536 + int(self.split('-')[0].trim().split('.')[2]) * 256 + int(self.split('-')[0].trim().split('.')[3])) <= (int(self.split('-')[1].trim().split('.')[0]) * 16777216 + int(self.split('-')[1].trim().split('.')[1]) * 65536 + int(self.split('-')[1].trim().split('.')[2]) * 256 + int(self.split('-')[1].trim().split('.')[3]))",message="range start is after its end"
type AddressRange string
