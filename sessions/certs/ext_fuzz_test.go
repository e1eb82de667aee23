package certs

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzExtensions feeds the two extension parsers (ext.go) arbitrary bytes,
// as a hostile server's certificate would: they must never panic, must stay
// within their bounds, and what they return must encode as JSON (a
// timestamp past year 9999 would not).
func FuzzExtensions(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x05})
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x11})
	f.Add([]byte{0x04, 0x01, 0x00})
	seed, err := encodeSCTs([]SCT{{LogID: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", Time: time.Unix(1700000000, 0)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte{0x04, 0x06, 0x00, 0x04, 0x00, 0x02, 0x01, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		feats, err := parseTLSFeature(b)
		if err == nil && len(feats) > maxFeatures {
			t.Fatalf("%d features", len(feats))
		}
		scts, _ := parseSCTList(b)
		if len(scts) > maxSCTs {
			t.Fatalf("%d SCTs", len(scts))
		}
		if _, err := json.Marshal(scts); err != nil {
			t.Fatalf("SCTs do not encode: %v", err)
		}
	})
}
