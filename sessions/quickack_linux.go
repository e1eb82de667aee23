package sessions

import (
	"net"
	"syscall"
)

// quickAckConn re-arms TCP_QUICKACK before every read, so that the kernel
// acknowledges what arrives at once instead of delaying the ACK (up to
// 40 ms on Linux). A TLS 1.3 server that writes its NewSessionTicket and
// then, in a second small segment, its first reply is held back by its own
// Nagle algorithm until that ACK: without this, every STARTTLS session
// against Postfix/OpenSSL pays one delayed-ACK stall after the handshake.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func withQuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tc, raw: raw}
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(p)
}
