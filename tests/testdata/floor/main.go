// Command floor connects to a unix socket and exits: the least a client
// process of a node can cost, the baseline of BenchmarkLsProcess.
package main

import (
	"net"
	"os"
)

func main() {
	c, err := net.Dial("unix", os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	c.Close()
}
