package wire

import (
	"strings"
	"testing"
)

func TestElideAndGroupDigits(t *testing.T) {
	for _, tc := range []struct {
		s     string
		width int
		want  string
	}{
		{"short", 10, "short"},
		{strings.Repeat("a", 1_000_000), 20, strings.Repeat("a", 20) + "… 999,980 more bytes"},
		{"ééé", 3, "é… 4 more bytes"}, // never inside a rune
		{"abc", 0, "abc"},
	} {
		if got := Elide(tc.s, tc.width); got != tc.want {
			t.Errorf("Elide(%d bytes, %d) = %q", len(tc.s), tc.width, Truncate(got, 60))
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1073741824: "1,073,741,824", -1234: "-1,234"} {
		if got := GroupDigits(n); got != want {
			t.Errorf("GroupDigits(%d) = %q", n, got)
		}
	}
}

func TestBudgetDefaults(t *testing.T) {
	b := Budget{Untagged: 7, Literal: -1}.WithDefaults()
	if b.Untagged != 7 || b.Literal != -1 || b.Events != DefaultBudgetEvents || b.EventBytes != DefaultBudgetEventBytes ||
		b.TotalBytes != DefaultBudgetTotalBytes || b.LineWidth != DefaultBudgetLineWidth {
		t.Errorf("WithDefaults: %+v", b)
	}
	if Limit(-1) != Unlimited || Limit(5) != 5 {
		t.Error("Limit")
	}
	if len(BudgetKeys()) != 5 {
		t.Error("a budget key per limit in the engine")
	}
}
