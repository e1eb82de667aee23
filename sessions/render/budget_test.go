package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The printers keep to the session budget's LineWidth ("… N more bytes"),
// say how much of a line the session kept, and sum up a coalesced run of
// records as an eavesdropper would.
func TestPrintersKeepToTheBudget(t *testing.T) {
	long := strings.Repeat("\x1b", 3000) // escaped, 4 columns a byte
	evs := []wire.Event{
		{Seq: 1, Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Text: "connected"},
		{Seq: 2, Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone,
			Raw: []byte("* 1 FETCH (BODY[] {999}\r\nabc\r\n"), RawLen: 1_000_030, Text: long, Line: &wire.Line{Proto: "imap"}},
		{Seq: 3, Kind: wire.KindEncrypted, Dir: wire.ServerToClient, Layer: wire.LayerEncrypted, Visible: wire.VisibleEndpoints,
			Raw: make([]byte, 23), RawLen: 23_000_000, Annotation: "tls.record.coalesced",
			Record: &wire.Record{ContentType: "application_data", Version: "TLS 1.2", Length: 18, Count: 1_000_000, Total: 18_000_000}},
		{Seq: 4, Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Text: "closed"},
	}
	for _, l := range []lens.Lens{lens.Endpoint, lens.Eavesdropper} {
		o := Options{Lens: l, LineWidth: 200, Width: 10_000}
		var text, md bytes.Buffer
		if err := Text(&text, evs, o); err != nil {
			t.Fatal(err)
		}
		if err := Markdown(&md, evs, o); err != nil {
			t.Fatal(err)
		}
		for name, out := range map[string]string{"text": text.String(), "markdown": md.String()} {
			for _, line := range strings.Split(out, "\n") {
				if len(line) > 200+400 { // the width, the columns around it and the elision
					t.Errorf("%s %s: a line of %d bytes", l, name, len(line))
				}
			}
			if l == lens.Endpoint && !strings.Contains(out, "more bytes crossed the wire") {
				t.Errorf("%s %s: the kept part is not said:\n%s", l, name, out)
			}
			if l == lens.Endpoint && !strings.Contains(out, "more bytes") {
				t.Errorf("%s %s: no elision", l, name)
			}
			if l == lens.Eavesdropper && !strings.Contains(out, "1,000,000 encrypted TLS application_data records, 18,000,000 bytes") {
				t.Errorf("%s %s: the run is not summed up:\n%s", l, name, out)
			}
		}
	}
}
