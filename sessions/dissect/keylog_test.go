package dissect

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Test vectors from RFC 8448 §3, "Simple 1-RTT Handshake" (TLS 1.3 with
// TLS_AES_128_GCM_SHA256): the messages, the handshake traffic secrets, the
// keys derived from them and the protected records as they travelled.

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

var (
	rfc8448ClientHello = unhex(`
01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 a2 ef 62 83
02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01
00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 23 00 00 00 33 00
26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69
1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01
05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01`)
	rfc8448ServerHello = unhex(`
02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e
d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1
56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04`)
	rfc8448ClientRandom     = rfc8448ClientHello[6:38]
	rfc8448ClientHSTraffic  = unhex(`b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21`)
	rfc8448ServerHSTraffic  = unhex(`b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38`)
	rfc8448ServerHSKey      = unhex(`3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc`)
	rfc8448ServerHSIV       = unhex(`5d 31 3e b2 67 12 76 ee 13 00 0b 30`)
	rfc8448ClientHSKey      = unhex(`db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01`)
	rfc8448ClientHSIV       = unhex(`5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f`)
	rfc8448ServerFlightPart = unhex(`
17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f 45 e4 89 e7 f3 3a f3 5e df
78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca 07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4
29 ba 91 91 cd 05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b d9 ae fb 0e 57
f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1
22 a4 cf 51 42 73 25 25 0c 7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8 bf
2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92 8d 80 98 10 e4 b7 ed 1a 8f d9 91
f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70 a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3
fc f2 a8 94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 f5
63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f 44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e
d6 54 0c 84 83 8d 89 f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3 6a c1 b6
39 c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1 00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f
ae ea 6d fa 31 c7 a8 4d c3 bd 7e 1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56
84 c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c f9 3b 16 49 9a 66 db 7c ca
71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8
5d f8 81 ed be 5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6 fa 4f 9d 62 d5
13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb 56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8
59 77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38 eb
ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f 60 f0 50 4d e9 3b 5b 84 5e 27 55
92 c1 23 35 ee 34 0b bc 4f dd d5 02 78 40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28
fd 4a e3 79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e 75 0e dc 53 37 0d 2b`)
	rfc8448ClientFinishedRec = unhex(`
17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a 4b fc 44 d8
7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46`)
	// RFC 8448 §3: the client Finished's verify_data.
	rfc8448ClientVerifyData = unhex(`a8 ec 43 6d 67 76 34 ae 52 5a c1 fc eb e1 1a 03 9e c1 76 94 fa c6 e9 85 27 b6 42 f2 ed d5 ce 61`)
)

func keyLogLine(label string, random, secret []byte) string {
	return fmt.Sprintf("%s %x %x\n", label, random, secret)
}

func rfc8448KeyLog() string {
	return keyLogLine(keyLogClientHandshake, rfc8448ClientRandom, rfc8448ClientHSTraffic) +
		keyLogLine(keyLogServerHandshake, rfc8448ClientRandom, rfc8448ServerHSTraffic)
}

// rfc8448Transcript is the RFC 8448 §3 connection up to the client's
// Finished, as the tap would record it.
func rfc8448Transcript() []chunk {
	return []chunk{
		{wire.ClientToServer, recordBytes(RecordHandshake, rfc8448ClientHello)},
		{wire.ServerToClient, append(recordBytes(RecordHandshake, rfc8448ServerHello), rfc8448ServerFlightPart...)},
		{wire.ClientToServer, rfc8448ClientFinishedRec},
	}
}

func TestHKDFExpandLabelRFC8448(t *testing.T) {
	suite := tls13Suites[0x1301]
	for _, tc := range []struct {
		name            string
		secret, key, iv []byte
	}{
		{"server handshake", rfc8448ServerHSTraffic, rfc8448ServerHSKey, rfc8448ServerHSIV},
		{"client handshake", rfc8448ClientHSTraffic, rfc8448ClientHSKey, rfc8448ClientHSIV},
	} {
		key, iv, err := trafficKeys(suite, tc.secret)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(key, tc.key) || !bytes.Equal(iv, tc.iv) {
			t.Errorf("%s: key %x iv %x, want %x %x", tc.name, key, iv, tc.key, tc.iv)
		}
	}
	// RFC 8448 §3, "derive secret for handshake": Derive-Secret(early
	// secret, "derived", "") with a context, to exercise a non-empty one.
	early := unhex(`33 ad 0a 1c 60 7e c0 3b 09 e6 cd 98 93 68 0c e2 10 ad f3 00 aa 1f 26 60 e1 b2 2e 10 f1 70 f9 2a`)
	empty := sha256.Sum256(nil)
	got, err := hkdfExpandLabel(sha256.New, early, "derived", empty[:], 32)
	want := unhex(`6f 26 15 a1 08 c7 02 c5 67 8f 54 fc 9d ba b6 97 16 c0 76 18 9c 48 25 0c eb ea c3 57 6c 36 11 ba`)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("derived secret %x (%v), want %x", got, err, want)
	}
	if _, _, err := trafficKeys(suite, rfc8448ServerHSTraffic[:31]); err == nil {
		t.Error("a 31-byte secret for a SHA-256 suite was accepted")
	}
}

// decryptedShape lists "dir type" of the decrypted handshake events.
func decryptedShape(evs []wire.Event) []string {
	var s []string
	for _, e := range evs {
		if e.Kind == wire.KindHandshake && e.Handshake.Encrypted {
			s = append(s, string(e.Dir)+" "+e.Handshake.Type)
		}
	}
	return s
}

// checkDecrypted asserts the invariants of events a key log adds.
func checkDecrypted(t *testing.T, evs []wire.Event) {
	t.Helper()
	checkTyped(t, evs)
	known := append(AnnotationKeys(), KeyLogAnnotationKeys()...)
	for i, e := range evs {
		if !slices.Contains(known, e.Annotation) {
			t.Errorf("event %q: annotation %q unknown", e.Text, e.Annotation)
		}
		if e.Handshake == nil || !e.Handshake.Encrypted {
			continue
		}
		if e.Layer != wire.LayerDecrypted || e.Visible != wire.VisibleEndpoints || e.Annotation != "tls.handshake."+e.Handshake.Type {
			t.Errorf("decrypted event %q: layer %s visible %s annotation %s", e.Text, e.Layer, e.Visible, e.Annotation)
		}
		// Each decrypted message follows its record (or a sibling
		// message from the same record) in the same direction.
		j := i - 1
		for j >= 0 && evs[j].Kind == wire.KindHandshake && evs[j].Handshake.Encrypted && evs[j].Dir == e.Dir {
			j--
		}
		if j < 0 || evs[j].Kind != wire.KindEncrypted || evs[j].Dir != e.Dir {
			t.Errorf("decrypted event %q does not follow an encrypted record of its direction", e.Text)
		}
		for _, f := range e.Handshake.Fields {
			if f.Annotation != "" && !slices.Contains(known, f.Annotation) {
				t.Errorf("field %s: annotation %q unknown", f.Name, f.Annotation)
			}
		}
	}
}

func TestKeyLogRFC8448(t *testing.T) {
	want := []string{
		"s2c encrypted_extensions", "s2c certificate", "s2c certificate_verify", "s2c finished",
		"c2s finished",
	}
	var first []wire.Event
	// The key log may arrive before the encrypted records, between them,
	// after the server's flight was read (crypto/tls's usual order as the
	// tap sees it), or only after the whole transcript: the stream must be
	// the same.
	for _, when := range []int{0, 1, 2, 3} {
		for _, split := range []struct {
			name string
			fn   func([]byte) [][]byte
		}{{"whole", nil}, {"bytes", splitEvery(1)}, {"7", splitEvery(7)}} {
			t.Run(fmt.Sprintf("keylog after chunk %d, %s", when, split.name), func(t *testing.T) {
				d := New()
				kl := NewKeyLog()
				d.UseKeyLog(kl)
				var evs []wire.Event
				for i, c := range rfc8448Transcript() {
					if i == when {
						kl.Write([]byte(rfc8448KeyLog()))
					}
					pieces := [][]byte{c.data}
					if split.fn != nil {
						pieces = split.fn(c.data)
					}
					for _, p := range pieces {
						evs = append(evs, d.Feed(c.dir, p)...)
					}
				}
				if when == 3 {
					kl.Write([]byte(rfc8448KeyLog()))
				}
				evs = append(evs, d.Flush(wire.ClientToServer)...)
				evs = append(evs, d.Flush(wire.ServerToClient)...)
				got := decryptedShape(evs)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("decrypted %v, want %v\n%s", got, want, strings.Join(shape(evs), "\n"))
				}
				checkDecrypted(t, evs)
				if first == nil {
					first = evs
				} else if !reflect.DeepEqual(evs, first) {
					t.Errorf("the stream depends on chunking or key log timing:\n%s\nvs\n%s",
						strings.Join(shape(evs), "\n"), strings.Join(shape(first), "\n"))
				}
				ee := findHandshake(t, evs, "encrypted_extensions")
				if v := field(t, ee, "supported_groups"); !strings.Contains(v, "x25519") {
					t.Errorf("EncryptedExtensions supported_groups %q", v)
				}
				cert := findHandshake(t, evs, "certificate")
				if v := field(t, cert, "certificate[0] subject"); v != "CN=rsa" {
					t.Errorf("certificate subject %q, want CN=rsa", v)
				}
				if v := field(t, cert, "request context"); v != "empty" {
					t.Errorf("request context %q", v)
				}
				cv := findHandshake(t, evs, "certificate_verify")
				if v := field(t, cv, "signature scheme"); v != "rsa_pss_rsae_sha256" {
					t.Errorf("signature scheme %q", v)
				}
				var cfin wire.Event
				for _, e := range evs {
					if e.Kind == wire.KindHandshake && e.Dir == wire.ClientToServer && e.Handshake.Type == "finished" {
						cfin = e
					}
				}
				if !bytes.Equal(cfin.Raw, append([]byte{tlsmsg.TypeFinished, 0, 0, 32}, rfc8448ClientVerifyData...)) {
					t.Errorf("client Finished raw %x", cfin.Raw)
				}
				// Decrypted content never shows as what crossed the wire.
				for _, e := range evs {
					if e.Kind == wire.KindHandshake && lens.OnWire(e) && (e.Handshake.Certificate != nil || e.Handshake.EncryptedExtensions != nil) {
						t.Errorf("decrypted %s counts as on the wire", e.Handshake.Type)
					}
					if e.Handshake != nil && e.Handshake.Encrypted {
						for _, f := range e.Handshake.Fields {
							if f.Metadata {
								t.Errorf("decrypted %s: field %s marked as metadata an observer learns", e.Handshake.Type, f.Name)
							}
						}
					}
				}
			})
		}
	}
}

func countAnn(evs []wire.Event, ann string) int {
	n := 0
	for _, e := range evs {
		if e.Annotation == ann {
			n++
		}
	}
	return n
}

func splitEvery(n int) func([]byte) [][]byte {
	return func(b []byte) [][]byte {
		var out [][]byte
		for len(b) > n {
			out = append(out, b[:n])
			b = b[n:]
		}
		return append(out, b)
	}
}

// runRFC8448 dissects the RFC 8448 transcript with the given key log text
// and server flight.
func runRFC8448(keylog string, flight []byte) []wire.Event {
	d := New()
	kl := NewKeyLog()
	d.UseKeyLog(kl)
	kl.Write([]byte(keylog))
	tr := rfc8448Transcript()
	tr[1].data = append(recordBytes(RecordHandshake, rfc8448ServerHello), flight...)
	var evs []wire.Event
	for _, c := range tr {
		evs = append(evs, d.Feed(c.dir, c.data)...)
	}
	evs = append(evs, d.Flush(wire.ClientToServer)...)
	return append(evs, d.Flush(wire.ServerToClient)...)
}

func TestKeyLogHostile(t *testing.T) {
	t.Run("corrupted ciphertext", func(t *testing.T) {
		flight := bytes.Clone(rfc8448ServerFlightPart)
		flight[100] ^= 0x40
		evs := runRFC8448(rfc8448KeyLog(), flight)
		if got := decryptedShape(evs); !reflect.DeepEqual(got, []string{"c2s finished"}) {
			t.Fatalf("decrypted %v, want only the client's Finished", got)
		}
		i := slices.IndexFunc(evs, func(e wire.Event) bool { return e.Annotation == annKeyLogFailed })
		if i < 1 || evs[i-1].Kind != wire.KindEncrypted || evs[i].Dir != wire.ServerToClient || evs[i].Kind != wire.KindNote {
			t.Fatalf("no decrypt-failed note right after the server's record:\n%s", strings.Join(shape(evs), "\n"))
		}
		checkDecrypted(t, evs)
	})
	t.Run("corrupted header", func(t *testing.T) {
		// The header is the AEAD's additional data (RFC 8446 §5.2):
		// changing the declared version must fail authentication too.
		flight := bytes.Clone(rfc8448ServerFlightPart)
		flight[2] = 0x01
		evs := runRFC8448(rfc8448KeyLog(), flight)
		if countAnn(evs, annKeyLogFailed) != 1 || len(decryptedShape(evs)) != 1 {
			t.Fatalf("header change not detected:\n%s", strings.Join(shape(evs), "\n"))
		}
	})
	t.Run("another connection's key log", func(t *testing.T) {
		other := bytes.Clone(rfc8448ClientRandom)
		other[0] ^= 1
		kl := keyLogLine(keyLogClientHandshake, other, rfc8448ClientHSTraffic) +
			keyLogLine(keyLogServerHandshake, other, rfc8448ServerHSTraffic)
		evs := runRFC8448(kl, rfc8448ServerFlightPart)
		if got := decryptedShape(evs); len(got) != 0 {
			t.Fatalf("decrypted with another connection's secrets: %v", got)
		}
		if countAnn(evs, annKeyLogNoSecret) != 2 || countAnn(evs, annEncHandshake) != 1 {
			t.Fatalf("want the opaque records and two no-secret notes:\n%s", strings.Join(shape(evs), "\n"))
		}
		checkDecrypted(t, evs)
	})
	t.Run("secrets swapped", func(t *testing.T) {
		kl := keyLogLine(keyLogClientHandshake, rfc8448ClientRandom, rfc8448ServerHSTraffic) +
			keyLogLine(keyLogServerHandshake, rfc8448ClientRandom, rfc8448ClientHSTraffic)
		evs := runRFC8448(kl, rfc8448ServerFlightPart)
		if len(decryptedShape(evs)) != 0 || countAnn(evs, annKeyLogFailed) != 2 {
			t.Fatalf("want two decrypt-failed notes:\n%s", strings.Join(shape(evs), "\n"))
		}
	})
	t.Run("secret of the wrong length", func(t *testing.T) {
		kl := keyLogLine(keyLogServerHandshake, rfc8448ClientRandom, append(bytes.Clone(rfc8448ServerHSTraffic), 0))
		evs := runRFC8448(kl, rfc8448ServerFlightPart)
		if len(decryptedShape(evs)) != 0 || countAnn(evs, annKeyLogFailed) != 1 {
			t.Fatalf("want one decrypt-failed note:\n%s", strings.Join(shape(evs), "\n"))
		}
	})
	t.Run("truncated record", func(t *testing.T) {
		// A record too short for the tag: a note, no panic.
		evs := runRFC8448(rfc8448KeyLog(), recordBytes(RecordApplicationData, []byte{1, 2, 3}))
		if countAnn(evs, annKeyLogFailed) != 1 {
			t.Fatalf("want a decrypt-failed note:\n%s", strings.Join(shape(evs), "\n"))
		}
	})
}

// TestKeyLogHoldBound: records waiting for a secret that never comes are
// released, in order, once more than maxHeldBytes wait.
func TestKeyLogHoldBound(t *testing.T) {
	d := New()
	d.UseKeyLog(NewKeyLog())
	var evs []wire.Event
	for _, c := range rfc8448Transcript()[:1] {
		evs = append(evs, d.Feed(c.dir, c.data)...)
	}
	evs = append(evs, d.Feed(wire.ServerToClient, recordBytes(RecordHandshake, rfc8448ServerHello))...)
	n0 := len(evs)
	rec := recordBytes(RecordApplicationData, bytes.Repeat([]byte{0xaa}, 1<<14))
	released := false
	for i := 0; i < 6; i++ {
		out := d.Feed(wire.ServerToClient, rec)
		if len(out) > 0 && !released {
			released = true
			if i < 3 {
				t.Fatalf("released after %d records, before the bound", i+1)
			}
			if len(out) < 2 || out[0].Kind != wire.KindEncrypted || out[1].Annotation != annKeyLogNoSecret {
				t.Fatalf("released %v", shape(out))
			}
		}
		evs = append(evs, out...)
	}
	if !released {
		t.Fatal("held more than the bound")
	}
	if got := countAnn(evs[n0:], annEncHandshake) + countAnn(evs[n0:], annEncUndetermined); got != 6 {
		t.Fatalf("%d encrypted records out of 6:\n%s", got, strings.Join(shape(evs), "\n"))
	}
	if len(d.held) != 0 {
		t.Errorf("%d events still held", len(d.held))
	}
}

func TestKeyLogWriter(t *testing.T) {
	kl := NewKeyLog()
	r := rfc8448ClientRandom
	lines := "# comment\n" +
		"CLIENT_RANDOM " + hex.EncodeToString(r) + " " + strings.Repeat("ab", 48) + "\n" +
		"CLIENT_TRAFFIC_SECRET_0 " + hex.EncodeToString(r) + " " + strings.Repeat("cd", 32) + "\n" +
		"SERVER_HANDSHAKE_TRAFFIC_SECRET zz " + strings.Repeat("cd", 32) + "\n" +
		"SERVER_HANDSHAKE_TRAFFIC_SECRET " + strings.Repeat("ab", 31) + " " + strings.Repeat("cd", 32) + "\n" +
		"SERVER_HANDSHAKE_TRAFFIC_SECRET " + strings.Repeat("x", 2*maxKeyLogLine) + "\n" +
		keyLogLine(keyLogServerHandshake, r, rfc8448ServerHSTraffic)
	// Any chunking, and Write never fails (an error would abort crypto/tls's handshake).
	for _, p := range splitEvery(3)([]byte(lines)) {
		if n, err := kl.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if got := kl.secret(keyLogServerHandshake, r); !bytes.Equal(got, rfc8448ServerHSTraffic) {
		t.Errorf("server secret %x", got)
	}
	if kl.secret(keyLogClientHandshake, r) != nil {
		t.Error("client secret present though never logged")
	}
	if len(kl.entries) != 1 {
		t.Errorf("%d entries kept, want 1 (application traffic secrets and junk are dropped)", len(kl.entries))
	}
	if len(kl.lines.partial) != 0 {
		t.Errorf("partial line of %d bytes left", len(kl.lines.partial))
	}
	// Bounded: many lines keep at most maxKeyLogEntries.
	for i := 0; i < 3*maxKeyLogEntries; i++ {
		kl.Write([]byte(keyLogLine(keyLogClientHandshake, r, rfc8448ClientHSTraffic)))
	}
	if len(kl.entries) != maxKeyLogEntries {
		t.Errorf("%d entries, want the bound %d", len(kl.entries), maxKeyLogEntries)
	}
	// An endless line without a newline never grows the buffer past the bound.
	kl2 := NewKeyLog()
	for i := 0; i < 100; i++ {
		kl2.Write(bytes.Repeat([]byte("A"), 100))
	}
	if len(kl2.lines.partial) > maxKeyLogLine {
		t.Errorf("partial line grew to %d bytes", len(kl2.lines.partial))
	}
}

// FuzzKeyLogDecrypt: whatever the server sends after the RFC 8448
// ServerHello, with the right secrets, the dissector neither panics nor
// breaks its invariants nor holds events past Flush.
func FuzzKeyLogDecrypt(f *testing.F) {
	f.Add(rfc8448ServerFlightPart)
	f.Add(rfc8448ServerFlightPart[:40])
	f.Add(recordBytes(RecordApplicationData, make([]byte, 17)))
	f.Add(append(recordBytes(RecordChangeCipherSpec, []byte{1}), rfc8448ServerFlightPart...))
	f.Fuzz(func(t *testing.T, flight []byte) {
		evs := runRFC8448(rfc8448KeyLog(), flight)
		checkDecrypted(t, evs)
		for _, e := range evs {
			if e.Kind == wire.KindHandshake && e.Handshake.Encrypted && len(e.Raw) < 4 {
				t.Fatalf("decrypted message of %d bytes", len(e.Raw))
			}
		}
	})
}

// FuzzKeyLogPlaintext seals fuzzed TLSInnerPlaintexts (RFC 8446 §5.2) with
// the RFC 8448 server handshake key, so the padding, content type,
// reassembly and message parsers see arbitrary plaintext. The first byte
// sets the inner plaintext size of each record.
func FuzzKeyLogPlaintext(f *testing.F) {
	ee := unhex(`08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 1c 00 02 40 01 00 00 00 00`)
	f.Add(append([]byte{byte(len(ee) + 1)}, append(ee, RecordHandshake)...))
	f.Add(append([]byte{20}, append(ee[:19], RecordHandshake)...))
	f.Add([]byte{3, 2, 40, RecordAlert})
	f.Add([]byte{4, 20, 0, 0, 32})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		k := max(int(data[0]), 1)
		aead, err := aesGCM(rfc8448ServerHSKey)
		if err != nil {
			t.Fatal(err)
		}
		var flight []byte
		for seq, rest := uint64(0), data[1:]; len(rest) > 0 && seq < 64; seq++ {
			inner := rest[:min(k, len(rest))]
			rest = rest[len(inner):]
			nonce := bytes.Clone(rfc8448ServerHSIV)
			for i := range 8 {
				nonce[len(nonce)-1-i] ^= byte(seq >> (8 * i))
			}
			n := len(inner) + aead.Overhead()
			hdr := []byte{RecordApplicationData, 3, 3, byte(n >> 8), byte(n)}
			flight = append(flight, hdr...)
			flight = aead.Seal(flight, nonce, inner, hdr)
		}
		evs := runRFC8448(rfc8448KeyLog(), flight)
		checkDecrypted(t, evs)
		if countAnn(evs, annKeyLogFailed) > 1 {
			t.Fatalf("more than one failure note for one direction:\n%s", strings.Join(shape(evs), "\n"))
		}
	})
}
