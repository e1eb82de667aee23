package lens

import (
	"testing"

	"github.com/mailwire/mailwire/sessions/wire"
)

// TestObserveCoalescedRecords: a run of records shown as one event
// (Record.Count, Total) counts as that many records and bytes, as the
// eavesdropper saw them cross; a line kept in part counts what crossed.
func TestObserveCoalescedRecords(t *testing.T) {
	evs := []wire.Event{
		{Seq: 1, Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata},
		{Seq: 2, Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone,
			Raw: []byte("220 hi"), RawLen: 70_000},
		{Seq: 3, Kind: wire.KindEncrypted, Dir: wire.ServerToClient, Layer: wire.LayerEncrypted, Visible: wire.VisibleEndpoints,
			Raw: make([]byte, 23), RawLen: 230, Record: &wire.Record{ContentType: "application_data", Length: 18, Count: 10, Total: 180}},
		{Seq: 4, Kind: wire.KindEncrypted, Dir: wire.ClientToServer, Layer: wire.LayerEncrypted, Visible: wire.VisibleEndpoints,
			Raw: make([]byte, 35), Record: &wire.Record{ContentType: "application_data", Length: 30}},
	}
	o := Observe(evs, len(evs)-1, "")
	if o.EncryptedRecords != 11 || o.Encrypted.S2C != 180 || o.Encrypted.C2S != 30 {
		t.Errorf("encrypted: %d records, %+v", o.EncryptedRecords, o.Encrypted)
	}
	if o.Cleartext.S2C != 70_000 {
		t.Errorf("cleartext: %+v", o.Cleartext)
	}
}
