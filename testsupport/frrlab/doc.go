// Package frrlab runs FRRouting (Debian's frr: zebra and bgpd) inside a
// netlab namespace as an independent BGP router for barelb's tests, the
// benchmark and the e2e lab.
//
// Each Router has its own directory for configuration, PID files, the
// zebra API socket, the vty sockets and logs, so any number of routers
// run side by side and none touches the system's FRR service or
// /etc/frr. Daemons run in the foreground as processes of the lab, run as
// the frr user (FRR refuses root unless root is in frrvty), and are
// stopped by Close or, failing that, by the lab's own cleanup.
//
// Queries go through vtysh with --vty_socket; the typed helpers parse the
// JSON variants of FRR's show commands (FRR 8.4's field names).
package frrlab
