package v1beta1

// AddressRange is one entry of IPAddressPool.spec.addresses: a CIDR
// ("198.18.0.0/24"), a single address, or an inclusive range
// ("198.18.0.10-198.18.0.20"). It is a string on the wire, as in MetalLB.
//
// The rules below let the API server refuse bad entries. Range order is
// checked by expanding both ends to fixed-width digit strings (IPv4 octets
// to three digits, IPv6 to 32 hex digits), because CEL cannot compare IP
// values but compares strings lexicographically.
//
// +kubebuilder:validation:MaxLength=100
// +kubebuilder:validation:XValidation:rule="isCIDR(self) || isIP(self) || (self.split('-').size() == 2 && isIP(self.split('-')[0].trim()) && isIP(self.split('-')[1].trim()))",message="must be a CIDR (198.18.0.0/24), a single IP address, or a range first-last (198.18.0.10-198.18.0.20)"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="CIDR has host bits set: use the network address of the prefix"
// +kubebuilder:validation:XValidation:rule="!(self.split('-').size() == 2 && isIP(self.split('-')[0].trim()) && isIP(self.split('-')[1].trim())) || ip(self.split('-')[0].trim()).family() == ip(self.split('-')[1].trim()).family()",message="range mixes IPv4 and IPv6 addresses"
// +kubebuilder:validation:XValidation:rule="!(self.split('-').size() == 2 && isIP(self.split('-')[0].trim()) && isIP(self.split('-')[1].trim()) && ip(self.split('-')[0].trim()).family() == ip(self.split('-')[1].trim()).family()) || cel.bind(ends, self.split('-').map(e, ip(e.trim()).string()), cel.bind(wide, ends.map(e, e.contains('.') ? e.split('.').map(o, '000'.substring(0, 3 - o.size()) + o).join('') : cel.bind(halves, e.split('::'), cel.bind(l, halves[0] == '' ? [] : halves[0].split(':'), cel.bind(r, halves.size() < 2 || halves[1] == '' ? [] : halves[1].split(':'), l.map(g, '0000'.substring(0, 4 - g.size()) + g).join('') + '00000000000000000000000000000000'.substring(0, 4 * (8 - l.size() - r.size())) + r.map(g, '0000'.substring(0, 4 - g.size()) + g).join(''))))), wide[0] <= wide[1]))",message="range start is after its end"
type AddressRange string
