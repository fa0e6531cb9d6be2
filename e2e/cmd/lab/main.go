// Command lab brings barelb's one-machine cluster lab up and down.
//
//	lab up      start the lab in the background, wait until it is ready,
//	            print how to use it (a running lab is left alone)
//	lab down    stop the lab and remove every namespace, link and process
//	lab status  show whether the lab runs, its nodes and processes
//
// The lab is served by a background "lab serve" process: the mini kubelet
// and the node heartbeats live in it, so it must outlive "lab up". Run
// "lab up --foreground" to keep it in the terminal instead (Ctrl-C tears
// it down). Needs root.
package main

import (
	"fmt"
	"os"
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage: lab <command> [flags]

commands:
  up      bring the lab up (background; --foreground to stay attached)
  down    tear the lab down
  status  show the lab's state
  serve   run the lab in this process until SIGINT/SIGTERM (used by up)

run "lab <command> -h" for flags.
`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = cmdUp(os.Args[2:])
	case "down":
		err = cmdDown(os.Args[2:])
	case "status":
		err = cmdStatus(os.Args[2:])
	case "serve":
		err = cmdServe(os.Args[2:])
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "lab: unknown command %q\n", os.Args[1])
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}
