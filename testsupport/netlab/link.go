package netlab

// Bridge creates a Linux bridge named dev inside ns and brings it up. A LAN
// bridge lives in its own "switch" namespace so nothing of the lab touches
// the host namespace.
func (ns *Namespace) Bridge(dev string) error {
	if err := ns.Exec("ip", "link", "add", dev, "type", "bridge"); err != nil {
		return err
	}
	// Forward immediately: STP learning delays would look like failover time.
	if err := ns.Exec("ip", "link", "set", dev, "type", "bridge", "stp_state", "0", "forward_delay", "0"); err != nil {
		return err
	}
	return ns.LinkUp(dev)
}

// Veth connects a (device aDev) to b (device bDev) with a veth pair and
// brings both ends up. A nil namespace means the host namespace; such a
// host-side end is removed by Lab.Close.
func (l *Lab) Veth(a *Namespace, aDev string, b *Namespace, bDev string) error {
	tmpA, tmpB := l.Tag+"ta", l.Tag+"tb"
	if err := run("ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB); err != nil {
		return err
	}
	if err := l.place(tmpA, a, aDev); err != nil {
		_ = run("ip", "link", "del", tmpA)
		return err
	}
	if err := l.place(tmpB, b, bDev); err != nil {
		_ = run("ip", "link", "del", tmpB)
		return err
	}
	return nil
}

func (l *Lab) place(tmp string, ns *Namespace, dev string) error {
	if ns == nil {
		if err := run("ip", "link", "set", tmp, "name", dev); err != nil {
			return err
		}
		l.mu.Lock()
		l.hostLinks = append(l.hostLinks, dev)
		l.mu.Unlock()
		return run("ip", "link", "set", dev, "up")
	}
	if err := run("ip", "link", "set", tmp, "netns", ns.Name); err != nil {
		return err
	}
	if err := ns.Exec("ip", "link", "set", tmp, "name", dev); err != nil {
		return err
	}
	return ns.LinkUp(dev)
}

// Attach enslaves dev to bridge br, both inside ns.
func (ns *Namespace) Attach(dev, br string) error {
	return ns.Exec("ip", "link", "set", dev, "master", br)
}
