package esltest

import (
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

const (
	// maxQueued bounds the frames waiting for a slow client. FreeSWITCH
	// drops events for a listener whose queue is full; so do we.
	maxQueued = 10000
	// writeTimeout bounds one write to a client that stopped reading.
	writeTimeout = 10 * time.Second
)

// conn is one event-socket connection: an inbound client or an outbound
// socket session. Replies and events share one ordered queue drained by
// a writer goroutine.
type conn struct {
	sim      *Sim
	nc       net.Conn
	rec      *ConnRecord // guarded by sim.mu
	outbound bool
	sub      subscription // guarded by sim.busMu
	session  *leg         // the channel of an outbound socket session
	lingerMu sync.Mutex
	linger   bool

	qmu        sync.Mutex
	queue      [][]byte
	closing    bool // close after the queue is drained
	dropped    int
	events     []EventRecord // the first maxEventRecords events queued
	eventCount int
	wake       chan struct{}
	stopped    chan struct{} // writer finished and the socket is closed
}

// newConn registers a connection and starts its writer; nil if closed.
func (s *Sim) newConn(nc net.Conn, outbound bool) *conn {
	c := &conn{sim: s, nc: nc, outbound: outbound, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.conns[c] = true
	s.recordConn(c)
	s.wg.Add(1) // under mu, so Close's Wait cannot have started
	s.mu.Unlock()
	s.busMu.Lock()
	s.subs[c] = true
	s.busMu.Unlock()
	go func() {
		defer s.wg.Done()
		c.writer()
	}()
	return c
}

func (c *conn) setLinger() {
	c.lingerMu.Lock()
	c.linger = true
	c.lingerMu.Unlock()
}

func (c *conn) lingering() bool {
	c.lingerMu.Lock()
	defer c.lingerMu.Unlock()
	return c.linger
}

// send queues a frame.
func (c *conn) send(b []byte) {
	c.qmu.Lock()
	if !c.closing {
		c.queue = append(c.queue, b)
	}
	c.qmu.Unlock()
	c.poke()
}

// sendEvent queues an event in the subscriber's format (called under busMu).
func (c *conn) sendEvent(ev *event) {
	var b []byte
	if c.sub.format == "json" {
		if ev.json == nil {
			ev.json = eventFrame(ev, esl.FormatJSON)
		}
		b = ev.json
	} else {
		if ev.plain == nil {
			ev.plain = eventFrame(ev, esl.FormatPlain)
		}
		b = ev.plain
	}
	c.qmu.Lock()
	if !c.closing && len(c.queue) < maxQueued && b != nil {
		c.queue = append(c.queue, b)
		c.eventCount++
		if len(c.events) < maxEventRecords {
			name := ev.name
			if ev.subclass != "" {
				name = ev.subclass
			}
			c.events = append(c.events, EventRecord{Name: name, UUID: ev.get("Unique-ID"), JobUUID: ev.get("Job-UUID"), Sequence: ev.get("Event-Sequence")})
		}
	} else {
		c.dropped++
	}
	c.qmu.Unlock()
	c.poke()
}

func (c *conn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// closeAfterFlush sends the queued frames, then closes the socket.
func (c *conn) closeAfterFlush() {
	c.unsubscribe()
	c.qmu.Lock()
	c.closing = true
	c.qmu.Unlock()
	c.poke()
}

// abort closes the socket at once (Close, dropped connections).
func (c *conn) abort() {
	c.unsubscribe()
	c.qmu.Lock()
	c.closing = true
	c.queue = nil
	c.qmu.Unlock()
	c.nc.Close()
	c.poke()
}

func (c *conn) unsubscribe() {
	c.sim.busMu.Lock()
	delete(c.sim.subs, c)
	c.sim.busMu.Unlock()
}

func (c *conn) writer() {
	defer close(c.stopped)
	defer c.nc.Close()
	for {
		c.qmu.Lock()
		q := c.queue
		c.queue = nil
		closing := c.closing
		c.qmu.Unlock()
		for _, b := range q {
			_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := c.nc.Write(b); err != nil {
				c.abort()
				return
			}
		}
		if len(q) == 0 && closing {
			return
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-c.wake:
		case <-c.sim.ctx.Done():
			c.abort()
			return
		}
	}
}

// serveInbound runs one inbound ESL client: auth, then commands.
func (s *Sim) serveInbound(c *conn) {
	r := esl.NewReader(c.nc)
	c.send([]byte(authRequest))
	authed := false
	for {
		cmd, err := r.ReadCommand()
		if err != nil {
			c.abort()
			s.connClosed(c)
			return
		}
		s.recordCommand(c, cmd)
		if !authed {
			word, pw, _ := strings.Cut(cmd.Line, " ")
			switch strings.ToLower(word) {
			case "exit":
				s.command(c, cmd)
				s.connClosed(c)
				return
			case "auth":
			case "userauth":
				pw = "\x00" // no directory users here: always refused
			default:
				// mod_event_socket answers anything else this way until
				// the client authenticated, and keeps the connection.
				c.send(reply("-ERR command not found"))
				continue
			}
			if pw != s.opts.Password {
				// FreeSWITCH answers, says goodbye and closes (capture auth-wrong-password_A_plain.raw).
				c.send(reply("-ERR invalid"))
				c.send([]byte(disconnectPlain))
				c.closeAfterFlush()
				s.connClosed(c)
				return
			}
			authed = true
			c.send(reply("+OK accepted"))
			continue
		}
		if s.command(c, cmd) {
			s.connClosed(c)
			return
		}
	}
}

// command handles one command common to both socket directions. It
// reports whether the connection is finished.
func (s *Sim) command(c *conn, cmd *esl.Command) bool {
	word, arg, _ := strings.Cut(cmd.Line, " ")
	switch strings.ToLower(word) { // mod_event_socket compares commands with strncasecmp
	case "exit":
		c.send(reply("+OK bye"))
		c.send([]byte(disconnectPlain))
		c.closeAfterFlush()
		return true
	case "api":
		// FreeSWITCH runs api commands in the connection's own thread, so
		// an api originate holds later commands back until it returns.
		c.send(apiResponse(s.api(c, arg, "")))
	case "bgapi":
		job := cmd.Headers.Get("Job-UUID")
		if job == "" {
			job = newUUID()
		}
		// mod_event_socket copies a given Job-UUID into a buffer for a
		// formatted uuid: a longer one is cut.
		job = job[:min(len(job), uuidLen)]
		c.send(reply("+OK Job-UUID: "+job, esl.Header{Name: "Job-UUID", Value: job}))
		s.spawn(func() {
			body := s.api(c, arg, job)
			if !strings.HasPrefix(arg, "originate ") {
				s.backgroundJob(job, arg, body)
			}
		})
	case "event":
		s.busMu.Lock()
		format, err := c.sub.subscribe(strings.Split(arg, " "))
		s.busMu.Unlock()
		if err != "" {
			c.send(reply(err))
			break
		}
		c.send(reply("+OK event listener enabled " + format))
	case "myevents":
		// "myevents" on an outbound socket, "myevents <uuid>" on an inbound one.
		uuid, _, _ := strings.Cut(strings.TrimSpace(arg), " ")
		if uuid == "" && c.session != nil {
			uuid = c.session.uuid
		}
		if uuid == "" {
			c.send(reply("-ERR invalid uuid"))
			break
		}
		s.busMu.Lock()
		c.sub.myevents = true
		c.sub.session = uuid
		if c.sub.format == "" {
			c.sub.format = "plain"
		}
		s.busMu.Unlock()
		c.send(reply("+OK Events Enabled"))
	case "nixevent":
		s.busMu.Lock()
		for _, n := range strings.Fields(arg) {
			delete(c.sub.names, n)
			delete(c.sub.subclasses, n)
		}
		s.busMu.Unlock()
		c.send(reply("+OK events nixed"))
	case "noevents":
		s.busMu.Lock()
		c.sub = subscription{}
		s.busMu.Unlock()
		c.send(reply("+OK no longer listening for events"))
	case "filter":
		c.send(reply(s.filter(c, arg)))
	case "linger":
		c.setLinger()
		c.send(reply("+OK will linger"))
	case "sendmsg":
		s.sendmsg(c, arg, cmd)
	default:
		c.send(reply("-ERR command not found"))
	}
	return false
}

// uuidLen is the length of a formatted uuid (SWITCH_UUID_FORMATTED_LENGTH).
const uuidLen = 36

// filter runs "filter [add|delete] <header> [<value>]" as mod_event_socket
// does and returns its reply: a header without a value is refused (except
// for delete, which then removes every filter on that header, and
// "delete all" every filter); the deleted reply has no "=".
func (s *Sim) filter(c *conn, arg string) string {
	h, v, hasValue := strings.Cut(strings.TrimLeft(arg, " "), " ")
	s.busMu.Lock()
	defer s.busMu.Unlock()
	switch {
	case strings.EqualFold(h, "delete") && hasValue:
		h, v, _ = strings.Cut(v, " ")
		if strings.EqualFold(h, "all") {
			c.sub.filters = nil
		} else {
			c.sub.filters = slices.DeleteFunc(c.sub.filters, func(f esl.Header) bool {
				return f.Name == h && (v == "" || f.Value == v)
			})
		}
		return "+OK filter deleted. [" + h + "][" + v + "]"
	case hasValue:
		if strings.EqualFold(h, "add") {
			h, v, _ = strings.Cut(v, " ")
		}
		c.sub.filters = append(c.sub.filters, esl.Header{Name: h, Value: v})
		return "+OK filter added. [" + h + "]=[" + v + "]"
	}
	return "-ERR invalid syntax"
}
