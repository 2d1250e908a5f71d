//go:build !linux

package hfaxd

import "net"

// quickAck does nothing where TCP_QUICKACK does not exist.
func quickAck(net.Conn) {}
