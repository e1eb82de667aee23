package pcap_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mailwire/mailwire/sessions/pcap"
	"github.com/mailwire/mailwire/sessions/wire"
)

// seg is one decoded TCP segment of a written file.
type seg struct {
	at               time.Time
	src, dst         string
	syn, ack, fin    bool
	seq, ackn        uint32
	payload          []byte
	srcPort, dstPort uint16
}

func readBack(t *testing.T, b []byte) []seg {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	var out []seg
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("packet decodes with an error: %v", el.Error())
		}
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("no TCP layer in %v", p)
		}
		s := seg{at: ci.Timestamp, syn: tcp.SYN, ack: tcp.ACK, fin: tcp.FIN, seq: tcp.Seq, ackn: tcp.Ack,
			payload: tcp.Payload, srcPort: uint16(tcp.SrcPort), dstPort: uint16(tcp.DstPort)}
		src, dst := p.NetworkLayer().NetworkFlow().Endpoints()
		s.src, s.dst = src.String(), dst.String()
		out = append(out, s)
	}
}

// capture records a scripted connection through a real Capture.
func capture(client, server string, script func(cc *wire.CaptureConn)) []wire.CaptureConn {
	c := wire.NewCapture(0)
	cc := c.Open("", addr(client), addr(server), time.Unix(1700000000, 0), time.Millisecond)
	script(cc)
	return c.Snapshot()
}

func addr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

// TestWriteTCPFraming: the three-way handshake, data both ways with each
// side's sequence numbers counting its bytes and the acknowledgements the
// other side's, a read larger than a segment split, and the FINs of a
// client that closes first; the payload read back is the bytes recorded.
func TestWriteTCPFraming(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 150_000)
	conns := capture("127.0.0.1:40000", "127.0.0.1:10587", func(cc *wire.CaptureConn) {
		cc.Add(wire.ServerToClient, 2*time.Millisecond, []byte("220 lab ESMTP\r\n"))
		cc.Add(wire.ClientToServer, 3*time.Millisecond, []byte("EHLO client.test\r\n"))
		cc.Add(wire.ServerToClient, 4*time.Millisecond, big)
		cc.Add(wire.ClientToServer, 5*time.Millisecond, []byte("QUIT\r\n"))
		cc.Closed(6 * time.Millisecond)
	})
	var buf bytes.Buffer
	st, err := pcap.Write(&buf, conns, pcap.Options{ServerPort: 587})
	if err != nil {
		t.Fatal(err)
	}
	segs := readBack(t, buf.Bytes())
	if st.Packets != len(segs) || st.Conns != 1 || st.Bytes != int64(15+18+len(big)+6) {
		t.Errorf("stats %+v, read back %d packets", st, len(segs))
	}
	checkStream(t, segs, "127.0.0.1", 587)
	var flags []string
	for _, s := range segs {
		flags = append(flags, flagString(s))
	}
	want := "S,SA,A,PA,PA,PA,PA,PA,PA,FA,FA,A"
	if got := strings.Join(flags, ","); got != want {
		t.Errorf("flags %s, want %s", got, want)
	}
	var c2s, s2c []byte
	for _, s := range segs {
		if s.srcPort == 587 {
			s2c = append(s2c, s.payload...)
		} else {
			c2s = append(c2s, s.payload...)
		}
	}
	if string(c2s) != "EHLO client.test\r\nQUIT\r\n" || !bytes.Equal(s2c, append([]byte("220 lab ESMTP\r\n"), big...)) {
		t.Errorf("payload c2s %q, s2c %d bytes", c2s, len(s2c))
	}
	if !segs[3].at.Equal(time.Unix(1700000000, 0).Add(2 * time.Millisecond)) {
		t.Errorf("first data at %v", segs[3].at)
	}
}

// TestWriteServerClosesFirst: a server that closed its side (a read
// returned end of stream) sends the first FIN, after its last data and
// before what the client sent later; IPv6 addresses make IPv6 packets.
func TestWriteServerClosesFirst(t *testing.T) {
	conns := capture("[::1]:40000", "[::1]:110", func(cc *wire.CaptureConn) {
		cc.Add(wire.ServerToClient, 2*time.Millisecond, []byte("-ERR go away\r\n"))
		cc.PeerClosed(2 * time.Millisecond)
		cc.Add(wire.ClientToServer, 3*time.Millisecond, []byte("QUIT\r\n"))
		cc.Closed(4 * time.Millisecond)
	})
	var buf bytes.Buffer
	if _, err := pcap.Write(&buf, conns, pcap.Options{}); err != nil {
		t.Fatal(err)
	}
	segs := readBack(t, buf.Bytes())
	checkStream(t, segs, "::1", 110)
	var flags []string
	for _, s := range segs {
		dir := ">"
		if s.srcPort == 110 {
			dir = "<"
		}
		flags = append(flags, dir+flagString(s))
	}
	if got, want := strings.Join(flags, ","), ">S,<SA,>A,<PA,<FA,>PA,>FA,<A"; got != want {
		t.Errorf("flags %s, want %s", got, want)
	}
}

// TestWriteTruncatedCapture: bytes past the capture's limit are counted,
// not kept, and the file says so in its stats.
func TestWriteTruncatedCapture(t *testing.T) {
	c := wire.NewCapture(10)
	cc := c.Open("", addr("127.0.0.1:1"), addr("127.0.0.1:2"), time.Unix(0, 0), 0)
	cc.Add(wire.ClientToServer, 1, []byte("12345"))
	cc.Add(wire.ServerToClient, 2, []byte("1234567890"))
	st, err := pcap.Write(io.Discard, c.Snapshot(), pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Dropped != 10 || st.Bytes != 5 {
		t.Errorf("stats %+v, want 10 dropped and 5 kept", st)
	}
}

// checkStream checks that every segment's sequence number is where its
// side stands and every acknowledgement is what the other side sent.
func checkStream(t *testing.T, segs []seg, host string, serverPort uint16) {
	t.Helper()
	next := map[bool]uint32{} // fromServer → next sequence number
	started := map[bool]bool{}
	for i, s := range segs {
		fromServer := s.srcPort == serverPort
		if want := host; s.src != want && s.dst != want {
			t.Errorf("segment %d: %s → %s, want %s", i, s.src, s.dst, host)
		}
		if started[fromServer] && s.seq != next[fromServer] {
			t.Errorf("segment %d (%s): seq %d, want %d", i, flagString(s), s.seq, next[fromServer])
		}
		if s.ack && s.ackn != next[!fromServer] {
			t.Errorf("segment %d (%s): ack %d, want %d", i, flagString(s), s.ackn, next[!fromServer])
		}
		started[fromServer] = true
		next[fromServer] = s.seq + uint32(len(s.payload))
		if s.syn || s.fin {
			next[fromServer]++
		}
	}
}

func flagString(s seg) string {
	f := ""
	if s.syn {
		f += "S"
	}
	if s.fin {
		f += "F"
	}
	if len(s.payload) > 0 {
		f += "P"
	}
	if s.ack {
		f += "A"
	}
	return f
}

// TestWriteRefusesEmptyCapture: a capture without a connection is an
// error, and nothing is written (an empty pcap reads as "nothing
// crossed"; the TUI's export once wrote one, 24 bytes, for a session whose
// opener kept no capture).
func TestWriteRefusesEmptyCapture(t *testing.T) {
	var buf bytes.Buffer
	_, err := pcap.Write(&buf, wire.NewCapture(0).Snapshot(), pcap.Options{})
	if !errors.Is(err, pcap.ErrNoConnections) {
		t.Fatalf("Write of an empty capture: err %v, want ErrNoConnections", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Write of an empty capture wrote %d bytes", buf.Len())
	}
}

// TestWriteServerPorts: a scenario's connections to several lab ports are
// written with the canonical ones (ServerPorts); an address it does not
// hold (a proxy's) keeps its own port.
func TestWriteServerPorts(t *testing.T) {
	one := func(server string) wire.CaptureConn {
		return capture("127.0.0.1:40000", server, func(cc *wire.CaptureConn) {
			cc.Add(wire.ServerToClient, 2*time.Millisecond, []byte("220 hi\r\n"))
			cc.Closed(3 * time.Millisecond)
		})[0]
	}
	conns := []wire.CaptureConn{one("127.0.0.1:10587"), one("127.0.0.1:10993"), one("127.0.0.1:45000")}
	var buf bytes.Buffer
	if _, err := pcap.Write(&buf, conns, pcap.Options{ServerPorts: map[string]int{"127.0.0.1:10587": 587, "127.0.0.1:10993": 993}}); err != nil {
		t.Fatal(err)
	}
	ports := map[uint16]bool{}
	for _, s := range readBack(t, buf.Bytes()) {
		if s.syn && !s.ack {
			ports[s.dstPort] = true
		}
	}
	if len(ports) != 3 || !ports[587] || !ports[993] || !ports[45000] {
		t.Errorf("server ports %v, want 587, 993 and 45000", ports)
	}
}
