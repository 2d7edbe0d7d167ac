package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/taskvisor/taskvisor/node/certs"
)

// certsDir is where the certificates live: $XDG_CONFIG_HOME/taskvisor/certs,
// else ~/.config/taskvisor/certs.
func certsDir() string {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(os.TempDir(), "taskvisor-certs")
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "taskvisor", "certs")
}

// hostsFlag is a repeatable --host.
type hostsFlag []string

func (h *hostsFlag) String() string     { return strings.Join(*h, ",") }
func (h *hostsFlag) Set(v string) error { *h = append(*h, v); return nil }

// runCerts is `taskvisor certs init | node NAME | client NAME`.
func runCerts(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("taskvisor certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", certsDir(), "the certificates' `DIR`")
	var hosts hostsFlag
	fs.Var(&hosts, "host", "node: a DNS name or IP address it is reached by (repeatable; its name is one)")
	readOnly := fs.Bool("read-only", false, "client: lists, events and logs only; no start, stop or change")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage:
  taskvisor certs [--dir DIR] init                       a CA for a small team (ca.pem, ca-key.pem)
  taskvisor certs [--dir DIR] node NAME [--host H]...    a node's certificate, for serve --listen
  taskvisor certs [--dir DIR] client NAME [--read-only]  a client's certificate, for --addr

ECDSA P-256 keys, certificates valid for two years, files 0600. Copy ca.pem with each
node's or client's pair to the machine that uses it.

Flags:
`)
		fs.PrintDefaults()
	}
	// Flags may come after the verb and name: parse them out of anywhere.
	var rest []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		rest, args = append(rest, fs.Arg(0)), fs.Args()[1:]
	}
	var files certs.Files
	var err error
	switch {
	case len(rest) == 1 && rest[0] == "init":
		files, err = certs.Init(*dir)
	case len(rest) == 2 && rest[0] == "node":
		files, err = certs.Node(*dir, rest[1], certs.Options{Hosts: hosts})
	case len(rest) == 2 && rest[0] == "client":
		files, err = certs.Client(*dir, rest[1], certs.Options{ReadOnly: *readOnly})
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "taskvisor certs: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n%s\n", files.Cert, files.Key)
	return 0
}
