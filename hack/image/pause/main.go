// vmnet-pause: the sandbox ("pause") process of every pod on the local node. It holds the pod's
// namespaces open by staying alive, reaps the zombies of a shared PID namespace (it is PID 1
// there), and exits at once on SIGINT or SIGTERM so the kubelet can tear a pod down quickly.
// Written here (not upstream's pause.c) and built static with CGO_ENABLED=0.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		os.Stdout.WriteString("vmnet-pause 1.0\n")
		return
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child without blocking (one SIGCHLD may stand for several exits).
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
