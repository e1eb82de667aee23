package main

import "github.com/mailwire/mailwire/internal/buildinfo"

// The version given at link time (main.version) is buildinfo's: --version
// and every recording this binary writes, from the command line or the
// session screen, say the same (buildinfo.Version).
func init() { buildinfo.SetLinked(version) }

// buildVersion is what --version prints after "mailwire version ", and
// what a recording says it was recorded by.
func buildVersion() string { return buildinfo.Version() }
