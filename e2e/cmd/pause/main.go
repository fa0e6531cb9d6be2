// Command pause is the lab's Pod sandbox process (the CRI "pause"
// container): it holds the Pod's namespaces open and does nothing until
// SIGTERM or SIGINT. As PID 1 of a Pod that shares its process namespace it
// also reaps orphaned children, so they never pile up as zombies. It is
// built into the lab's pause image by hack/image, so no image is pulled.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return
		}
		// Reap every child that has exited; WNOHANG keeps the loop from
		// blocking when none is left.
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
