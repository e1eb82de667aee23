package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/mailwire/mailwire/sessions/wire"
)

// addBudgetFlags adds the session budget's flags (wire.Budget; README
// "Budgets"), shared by session, connect, scenarios and the terminal
// interface. Each defaults to the budget's default; -1 lifts the limit.
func addBudgetFlags(fl *pflag.FlagSet, b *wire.Budget) {
	*b = wire.DefaultBudget()
	fl.IntVar(&b.Events, "max-events", b.Events, "events a session keeps; later ones are counted and dropped, errors and notes kept (-1: no limit)")
	fl.IntVar(&b.EventBytes, "max-event-bytes", b.EventBytes, "bytes one event keeps of what crossed; the rest is counted (-1: no limit)")
	fl.Int64Var(&b.TotalBytes, "max-bytes", b.TotalBytes, "bytes a session's events keep in all (-1: no limit)")
	fl.IntVar(&b.LineWidth, "max-line", b.LineWidth, "longest output line; a longer one ends \"… N more bytes\" (-1: no limit)")
	fl.IntVar(&b.Untagged, "max-untagged", b.Untagged, "untagged IMAP responses shown per command; the rest are read and counted (-1: no limit)")
	fl.IntVar(&b.Literal, "max-literal", b.Literal, "bytes kept of an IMAP literal, a POP3 message or an HTTP body; the rest are read and counted (-1: no limit)")
}

// checkBudget refuses a limit below -1 (0 is taken as the default, as in
// wire.Budget).
func checkBudget(b wire.Budget) error {
	for flag, v := range map[string]int64{"max-events": int64(b.Events), "max-event-bytes": int64(b.EventBytes),
		"max-bytes": b.TotalBytes, "max-line": int64(b.LineWidth), "max-untagged": int64(b.Untagged), "max-literal": int64(b.Literal)} {
		if err := budgetLimitProblem(v); err != nil {
			return fmt.Errorf("--%s %d: %w", flag, v, err)
		}
	}
	return nil
}

// budgetLimitProblem says what is wrong with one limit, from a flag or the
// configuration file (budget.*).
func budgetLimitProblem(v int64) error {
	if v < -1 {
		return errors.New("want a positive limit, or -1 for none")
	}
	return nil
}
