//go:build !linux

package sessions

import "net"

// withQuickAck is Linux-only (TCP_QUICKACK); elsewhere the conn is as dialed.
func withQuickAck(c net.Conn) net.Conn { return c }
