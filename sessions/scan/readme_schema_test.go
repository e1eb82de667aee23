package scan

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/maildomain"
	"github.com/mailwire/mailwire/sessions/tlsprobe"
)

// TestREADMEScanSchema: every field `mailwire scan --format json` writes
// (the json tags of the report types) is named in the README's section on
// it, so the documented schema cannot fall behind the types.
func TestREADMEScanSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Skipf("no README here: %v", err)
	}
	const heading = "### `mailwire scan --format json`"
	_, section, ok := strings.Cut(string(b), heading)
	if !ok {
		t.Fatalf("README has no %q section", heading)
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	for _, v := range []any{Report{}, PortReport{}, LoginProbe{}, Negotiated{}, Injection{}, CertGroup{}, Finding{}, Show{},
		DomainReport{}, MXReport{}, tlsprobe.PortResult{}, maildomain.Report{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			tag := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			if !strings.Contains(section, "`"+tag+"`") {
				t.Errorf("README's scan schema lacks %s's field `%s`", typ.Name(), tag)
			}
		}
	}
}
