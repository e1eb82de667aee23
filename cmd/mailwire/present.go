package main

import "github.com/spf13/pflag"

// presentUsage is --present's usage, the same on every command that opens
// the session screen for a class (the root, replay).
const presentUsage = "presenter mode, for a projector: high contrast, each step narrated in large type; a clicker's pgdn/pgup steps (P toggles it)"

// addPresentFlag adds --present (tui.Options.Present).
func addPresentFlag(fl *pflag.FlagSet, v *bool) { fl.BoolVar(v, "present", false, presentUsage) }
