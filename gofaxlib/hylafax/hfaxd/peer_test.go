package hfaxd

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// peer is the server side of one connection to a scripted fake hfaxd on
// 127.0.0.1:0. Scripts run in the peer's goroutine and report mismatches
// with t.Errorf.
type peer struct {
	t     *testing.T
	conn  net.Conn
	br    *bufio.Reader
	chunk int // write in pieces of this many bytes; 0 writes whole
	data  net.Listener
}

// peerTimeout bounds every read of a script, so that a client that sends
// nothing ends the script instead of hanging the test.
const peerTimeout = 10 * time.Second

// fakeServer accepts connections and runs script on each, one at a time
// per connection, until the test ends; it returns the address to dial.
// Cleanup closes the listener and waits for every script.
func fakeServer(t *testing.T, chunk int, script func(p *peer)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				p := &peer{t: t, conn: c, br: bufio.NewReader(c), chunk: chunk}
				defer func() {
					if p.data != nil {
						p.data.Close()
					}
				}()
				script(p)
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return l.Addr().String()
}

// readLine returns the next command line without CR LF; "" and false at
// the end of the connection.
func (p *peer) readLine() (string, bool) {
	p.conn.SetReadDeadline(time.Now().Add(peerTimeout))
	l, err := p.br.ReadString('\n')
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(l, "\r\n"), true
}

// expect reads a command line and reports one other than want.
func (p *peer) expect(want string) bool {
	p.t.Helper()
	got, ok := p.readLine()
	if !ok {
		p.t.Errorf("peer: connection ended, want %q", want)
		return false
	}
	if got != want {
		p.t.Errorf("peer: got %q, want %q", got, want)
		return false
	}
	return true
}

// send writes s (CR LF line ends included), in pieces of p.chunk bytes.
func (p *peer) send(s string) {
	b := []byte(s)
	for len(b) > 0 {
		n := len(b)
		if p.chunk > 0 && p.chunk < n {
			n = p.chunk
		}
		if _, err := p.conn.Write(b[:n]); err != nil {
			return
		}
		b = b[n:]
	}
}

// reply expects cmd and sends rep.
func (p *peer) reply(cmd, rep string) bool {
	p.t.Helper()
	if !p.expect(cmd) {
		return false
	}
	p.send(rep)
	return true
}

// login plays hfaxd's side of Dial for user "u" with password "p" and,
// when admin, administrator password "a".
func (p *peer) login(admin bool) bool {
	p.t.Helper()
	p.send("220 fake server (HylaFAX (tm) Version 6.0.7) ready.\r\n")
	ok := p.reply(`USER "u"`, "331 Password required for u.\r\n") &&
		p.reply(`PASS "p"`, "230 User u logged in.\r\n")
	if ok && admin {
		ok = p.reply(`ADMIN "a"`, "230 Administrative privileges established.\r\n")
	}
	if !ok || !p.reply("TZONE GMT", "200 Using time values in GMT.\r\n") || !p.reply("TYPE I", "200 Type set to Image.\r\n") {
		return false
	}
	l, _ := p.readLine()
	if !strings.HasPrefix(l, "SITE LOCKWAIT ") {
		p.t.Errorf("peer: got %q, want SITE LOCKWAIT", l)
		return false
	}
	p.send("213 Lock timeout set to " + strings.TrimPrefix(l, "SITE LOCKWAIT ") + ".\r\n")
	return true
}

// quit answers a QUIT when the client sends one.
func (p *peer) quit() {
	if l, ok := p.readLine(); ok && l == "QUIT" {
		p.send("221 Goodbye.\r\n")
	}
}

// pasv answers PASV with a data listener of its own on 127.0.0.1, or with
// the address addr ("h1,h2,h3,h4,p1,p2") when set.
func (p *peer) pasv(addr string) bool {
	p.t.Helper()
	if !p.expect("PASV") {
		return false
	}
	if addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			p.t.Error(err)
			return false
		}
		if p.data != nil {
			p.data.Close()
		}
		p.data = l
		port := l.Addr().(*net.TCPAddr).Port
		addr = fmt.Sprintf("127,0,0,1,%d,%d", port>>8, port&0xff)
	}
	p.send("227 Entering passive mode (" + addr + ")\r\n")
	return true
}

// acceptData accepts the data connection of the last pasv.
func (p *peer) acceptData() net.Conn {
	p.t.Helper()
	if tl, ok := p.data.(*net.TCPListener); ok {
		tl.SetDeadline(time.Now().Add(peerTimeout))
	}
	c, err := p.data.Accept()
	if err != nil {
		p.t.Errorf("peer: data connection: %v", err)
		return nil
	}
	c.SetDeadline(time.Now().Add(peerTimeout))
	return c
}

// stot plays an upload: PASV, STOT, the data up to its end, 226. It
// returns the data received.
func (p *peer) stot(name string) []byte {
	p.t.Helper()
	if !p.pasv("") || !p.expect("STOT") {
		return nil
	}
	d := p.acceptData()
	if d == nil {
		return nil
	}
	defer d.Close()
	p.send("150 FILE: " + name + " (Opening new data connection).\r\n")
	b, err := io.ReadAll(d)
	if err != nil {
		p.t.Errorf("peer: reading upload: %v", err)
	}
	p.send("226 Transfer complete (FILE: " + name + ").\r\n")
	return b
}

// list plays "LIST path": the listing sent on a data connection.
func (p *peer) list(path, listing string) bool {
	p.t.Helper()
	if !p.pasv("") || !p.expect(`LIST "`+path+`"`) {
		return false
	}
	d := p.acceptData()
	if d == nil {
		return false
	}
	p.send("150 Opening new data connection for \"" + path + "\".\r\n")
	d.Write([]byte(listing))
	d.Close()
	p.send("226 Transfer complete.\r\n")
	return true
}
