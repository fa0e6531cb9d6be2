package lbspec

// ConditionAddressAssigned is the type of the condition the controller
// keeps in a Service's status.conditions. Status True: the addresses in
// status.loadBalancer came from the pool the message names (reason
// IPAllocated), or are kept outside any pool (AddressOutOfPool). False:
// barelb could not give the Service (new) addresses; the reason and
// message are those of the Warning Event, which expires, while the
// condition stays until the verdict changes.
const ConditionAddressAssigned = "barelb.io/AddressAssigned"
