package hfaxd

import (
	"net"
	"syscall"
)

// quickAck makes the kernel acknowledge the next segments of c at once
// (TCP_QUICKACK is not sticky: it is set again before every read).
func quickAck(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
