// Package pcap writes what a session's connections carried as a pcap file
// that Wireshark and tshark open: the bytes of a wire.Capture, exactly as
// they crossed, in TCP segments whose framing is synthesized (the
// handshake, sequence and acknowledgement numbers both ways, the close),
// since mailwire sees the stream through a socket, not the packets.
//
// A pcap holds the wire's bytes, so it holds a password only where the
// password crossed in cleartext; everything inside TLS stays encrypted
// unless the reader also has the session's key log (Options.KeyLog of
// sessions), which decrypts all of it.
package pcap

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mailwire/mailwire/sessions/wire"
)

// ErrNoConnections is Write's error for a capture that holds no
// connection (the session never connected, or kept no capture).
var ErrNoConnections = errors.New("the capture holds no connection")

// Options shape the file.
type Options struct {
	// ServerPort, when not 0, is written as the server's port instead of
	// the one dialed: the lab listens on 10587 for 587, and Wireshark picks
	// a protocol's dissector (SMTP and its STARTTLS, IMAP, TLS) by the
	// well-known port.
	ServerPort int
	// ServerPorts, when ServerPort is 0, maps a server's address as
	// dialed (host:port) to the port written: a scenario's sessions
	// reach several lab ports (10587 and 10993 are written as 587 and
	// 993); an address it does not hold (a proxy) keeps its port.
	ServerPorts map[string]int
}

// Stats says what a file holds.
type Stats struct {
	Conns   int   // TCP connections
	Packets int   // packets written
	Bytes   int64 // payload bytes, both directions
	// Dropped is what crossed the wire but is missing from the capture
	// (past its limit): the file has a gap there, which Wireshark marks.
	Dropped int64
}

// maxSegment bounds one TCP segment's payload so that its IP packet stays
// within 65,535 bytes (RFC 791 §3.1 total length, RFC 8200 §3 payload
// length). A read or write larger than that is split.
const maxSegment = 65535 - 60 - 60

// snapLen is the file's snapshot length: every packet is kept whole.
const snapLen = 65535

// Fake link-layer addresses: locally administered (IEEE 802 bit 1 of the
// first octet), as no real interface carried these frames.
var (
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	serverMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
)

// packet is one frame, before it is written.
type packet struct {
	at   time.Time
	data []byte
}

// Write writes conns as a pcap file (the classic format, microsecond
// times, Ethernet frames) to w. Each connection is a TCP stream of its own:
// SYN, SYN-ACK and ACK when it was established, one segment per read or
// write (split past maxSegment), and the FINs when it closed (the server's
// first when it closed first).
//
// A capture without a connection is refused (ErrNoConnections) before
// anything is written: an empty pcap opens in Wireshark as if nothing had
// crossed the wire, when nothing was captured.
func Write(w io.Writer, conns []wire.CaptureConn, o Options) (Stats, error) {
	var st Stats
	if len(conns) == 0 {
		return st, ErrNoConnections
	}
	var pkts []packet
	for i, cc := range conns {
		ps, err := connPackets(i, cc, o, &st)
		if err != nil {
			return st, err
		}
		pkts = append(pkts, ps...)
	}
	// A file's packets are in time order; the connections of a scenario
	// overlap.
	slices.SortStableFunc(pkts, func(a, b packet) int { return a.at.Compare(b.at) })
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		return st, fmt.Errorf("pcap header: %w", err)
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.at, CaptureLength: len(p.data), Length: len(p.data)}
		if err := pw.WritePacket(ci, p.data); err != nil {
			return st, fmt.Errorf("pcap packet: %w", err)
		}
	}
	st.Packets = len(pkts)
	return st, nil
}

// endpoint is one end of a connection.
type endpoint struct {
	addr netip.Addr
	port uint16
	mac  net.HardwareAddr
}

func parseEnd(s string, port int, mac net.HardwareAddr) (endpoint, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return endpoint{}, fmt.Errorf("address %q: %w", s, err)
	}
	e := endpoint{addr: ap.Addr().Unmap(), port: ap.Port(), mac: mac}
	if port > 0 && port <= 65535 {
		e.port = uint16(port)
	}
	return e, nil
}

// stream builds one connection's segments, keeping each side's next
// sequence number.
type stream struct {
	origin         time.Time
	client, server endpoint
	seq            [2]uint32 // next sequence number: [0] client, [1] server
	pkts           []packet
	st             *Stats
}

// Initial sequence numbers, fixed so that a file is reproducible; RFC
// 9293 §3.4.1 has real stacks pick them at random.
const (
	clientISN = 0x4d41494c // "MAIL"
	serverISN = 0x57495245 // "WIRE"
)

func connPackets(i int, cc wire.CaptureConn, o Options, st *Stats) ([]packet, error) {
	cl, err := parseEnd(cc.Client, 0, clientMAC)
	if err != nil {
		return nil, fmt.Errorf("connection %d client: %w", i+1, err)
	}
	port := o.ServerPort
	if port == 0 {
		port = o.ServerPorts[cc.Server]
	}
	sv, err := parseEnd(cc.Server, port, serverMAC)
	if err != nil {
		return nil, fmt.Errorf("connection %d server: %w", i+1, err)
	}
	if cl.addr.Is4() != sv.addr.Is4() {
		return nil, fmt.Errorf("connection %d: %s and %s are of different IP versions", i+1, cc.Client, cc.Server)
	}
	s := &stream{origin: cc.Origin, client: cl, server: sv, st: st}
	s.seq = [2]uint32{clientISN + uint32(i)<<16, serverISN + uint32(i)<<16}
	st.Conns++
	st.Dropped += cc.Dropped

	// The three-way handshake (RFC 9293 §3.5): SYN and SYN-ACK each take
	// one sequence number.
	s.segment(cc.Opened, false, layers.TCP{SYN: true}, nil)
	s.segment(cc.Opened, true, layers.TCP{SYN: true, ACK: true}, nil)
	s.segment(cc.Opened, false, layers.TCP{ACK: true}, nil)

	// The server's FIN goes where its read returned end of stream: after
	// the data of that read, before whatever the client sent later.
	serverFIN := cc.PeerFIN > 0
	for _, ch := range cc.Chunks {
		if serverFIN && ch.At > cc.PeerFIN {
			s.fin(cc.PeerFIN, true)
			serverFIN = false
		}
		fromServer := ch.Dir == wire.ServerToClient
		for b := ch.Data; len(b) > 0; {
			n := min(len(b), maxSegment)
			s.segment(ch.At, fromServer, layers.TCP{PSH: true, ACK: true}, b[:n])
			st.Bytes += int64(n)
			b = b[n:]
		}
	}
	if serverFIN {
		s.fin(cc.PeerFIN, true)
	}
	switch {
	case cc.End > 0 && cc.PeerFIN > 0:
		// The server closed first; the client's FIN answers it when the
		// client closes, and the server acknowledges it.
		end := max(cc.End, cc.PeerFIN)
		s.fin(end, false)
		s.segment(end, true, layers.TCP{ACK: true}, nil)
	case cc.End > 0:
		// The client closed first (RFC 9293 §3.6): its FIN, the server's
		// FIN-ACK, the last ACK.
		s.fin(cc.End, false)
		s.fin(cc.End, true)
		s.segment(cc.End, false, layers.TCP{ACK: true}, nil)
	}
	return s.pkts, nil
}

// fin sends one side's FIN, which takes one sequence number.
func (s *stream) fin(at time.Duration, fromServer bool) {
	s.segment(at, fromServer, layers.TCP{FIN: true, ACK: true}, nil)
}

// segment appends one TCP segment from one side, with that side's next
// sequence number and, when ACK is set, the other side's next as the
// acknowledgement; SYN and FIN count one (RFC 9293 §3.4).
func (s *stream) segment(at time.Duration, fromServer bool, tcp layers.TCP, payload []byte) {
	src, dst := s.client, s.server
	me, peer := 0, 1
	if fromServer {
		src, dst, me, peer = s.server, s.client, 1, 0
	}
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(src.port), layers.TCPPort(dst.port)
	tcp.Seq = s.seq[me]
	if tcp.ACK {
		tcp.Ack = s.seq[peer]
	}
	tcp.Window = 65535
	s.seq[me] += uint32(len(payload))
	if tcp.SYN || tcp.FIN {
		s.seq[me]++
	}
	data, err := frame(src, dst, &tcp, payload)
	if err != nil {
		// The layers are built here from parsed addresses and bounded
		// payloads: serializing cannot fail.
		panic(fmt.Sprintf("pcap: serialize: %v", err))
	}
	s.pkts = append(s.pkts, packet{at: s.origin.Add(at), data: data})
}

// frame serializes Ethernet, IPv4 or IPv6, TCP and payload, with the
// lengths and checksums filled in.
func frame(src, dst endpoint, tcp *layers.TCP, payload []byte) ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: src.mac, DstMAC: dst.mac}
	var ip gopacket.SerializableLayer
	if src.addr.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		v4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment,
			SrcIP: src.addr.AsSlice(), DstIP: dst.addr.AsSlice()}
		if err := tcp.SetNetworkLayerForChecksum(v4); err != nil {
			return nil, err
		}
		ip = v4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: src.addr.AsSlice(), DstIP: dst.addr.AsSlice()}
		if err := tcp.SetNetworkLayerForChecksum(v6); err != nil {
			return nil, err
		}
		ip = v6
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
