package hfaxd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"time"
)

// Upload stores the document read from r in a temporary file of the
// session (STOT, binary, over a passive data connection) and returns the
// file's name, "/tmp/doc12.ps", for JobSpec.Documents. hfaxd recognises
// PDF, PostScript and TIFF by content whatever the name says. The file
// is removed when the session ends; a job it was added to keeps its own
// link to it. An upload that fails midway breaks the session (so that
// hfaxd drops the partial file with it).
func (c *Conn) Upload(ctx context.Context, r io.Reader) (string, error) {
	var name string
	_, err := c.transfer(ctx, command{"STOT", "STOT"}, func(prelim Reply, data net.Conn) error {
		name = fileName(prelim)
		if _, err := io.Copy(data, r); err != nil {
			abort(data)
			return fmt.Errorf("hfaxd: upload: %w", err)
		}
		return data.Close()
	}, func(final Reply) {
		if name == "" {
			name = fileName(final)
		}
	})
	if err != nil {
		return "", err
	}
	if name == "" {
		c.broken = fmt.Errorf("%w: STOT reply names no file", ErrProtocol)
		return "", c.broken
	}
	if _, err := quote("file name", name); err != nil {
		c.broken = fmt.Errorf("%w: STOT reply names file %s", ErrProtocol, quoteLine(name))
		return "", c.broken
	}
	return name, nil
}

// list returns the lines hfaxd sends for "LIST path" on a data connection.
func (c *Conn) list(ctx context.Context, path string) ([]string, error) {
	arg, err := quote("path", path)
	if err != nil {
		return nil, err
	}
	var lines []string
	_, err = c.transfer(ctx, command{"LIST", "LIST " + arg}, func(_ Reply, data net.Conn) error {
		var err error
		lines, err = ReadListing(data)
		return err
	}, nil)
	return lines, err
}

var fileRE = regexp.MustCompile(`FILE: ([^ ()]+)`)

// fileName returns the file a STOT reply names: "150 FILE: /tmp/doc7.ps
// (Opening new data connection)." or "226 Transfer complete (FILE: ...).".
func fileName(rep Reply) string {
	m := fileRE.FindStringSubmatch(rep.Text())
	if m == nil {
		return ""
	}
	return m[1]
}

// transfer runs cmd with a passive data connection: PASV, connect, cmd,
// its preliminary reply (150/125), move the data with fn, then the final
// reply (226). done, if set, sees the final reply.
func (c *Conn) transfer(ctx context.Context, cmd command, fn func(Reply, net.Conn) error, done func(Reply)) (Reply, error) {
	if err := checkLine(cmd.line); err != nil {
		return Reply{}, fmt.Errorf("%s: %w", cmd.name, err)
	}
	var final Reply
	err := c.guard(ctx, cmd.name, func(deadline time.Time) error {
		rep, err := c.roundTrip("PASV")
		if err != nil {
			return err
		}
		if rep.Code != 227 {
			return replyError("PASV", rep)
		}
		addr, err := c.passiveAddr(rep)
		if err != nil {
			return err
		}
		dctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		data, err := c.dial(dctx, "tcp", addr.String())
		if err != nil {
			return fmt.Errorf("hfaxd: data connection: %w", err)
		}
		defer data.Close()
		data.SetDeadline(deadline)
		return withCancel(ctx, data, func() error { return c.moveData(cmd, data, fn, done, &final) })
	})
	return final, err
}

// moveData sends cmd, moves the data on data with fn and reads the final
// reply into final.
func (c *Conn) moveData(cmd command, data net.Conn, fn func(Reply, net.Conn) error, done func(Reply), final *Reply) error {
	rep, err := c.roundTrip(cmd.line)
	if err != nil {
		abort(data)
		return err
	}
	if rep.Code != 150 && rep.Code != 125 {
		abort(data)
		return replyError(cmd.name, rep)
	}
	if err := fn(rep, data); err != nil {
		abort(data)
		return err
	}
	if *final, err = c.rd.ReadReply(); err != nil {
		return err
	}
	if done != nil {
		done(*final)
	}
	if final.Code != 226 && final.Code != 250 {
		return replyError(cmd.name, *final)
	}
	return nil
}

// roundTrip writes one command line and reads its reply.
func (c *Conn) roundTrip(line string) (Reply, error) {
	if _, err := c.nc.Write([]byte(line + "\r\n")); err != nil {
		return Reply{}, err
	}
	return c.rd.ReadReply()
}

var pasvRE = regexp.MustCompile(`(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})`)

// passiveAddr returns the address of a 227 reply, "Entering passive mode
// (127,0,0,1,226,239)", which must be the control connection's peer: a
// server naming another host could make the client connect anywhere.
func (c *Conn) passiveAddr(rep Reply) (netip.AddrPort, error) {
	m := pasvRE.FindStringSubmatch(rep.Text())
	if m == nil {
		return netip.AddrPort{}, fmt.Errorf("%w: PASV reply without address: %s", ErrProtocol, quoteLine(rep.Text()))
	}
	var b [6]byte
	for i := range b {
		n, err := strconv.Atoi(m[i+1])
		if err != nil || n > 255 {
			return netip.AddrPort{}, fmt.Errorf("%w: PASV reply with bad address: %s", ErrProtocol, quoteLine(rep.Text()))
		}
		b[i] = byte(n)
	}
	addr := netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
	port := uint16(b[4])<<8 | uint16(b[5])
	if addr != c.peer || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: %s:%d, control connection to %s", ErrPassiveAddress, addr, port, c.peer)
	}
	return netip.AddrPortFrom(addr, port), nil
}

// abort resets a data connection instead of closing it, so that hfaxd
// does not take what it received as a complete file.
func abort(data net.Conn) {
	if tc, ok := data.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	data.Close()
}
