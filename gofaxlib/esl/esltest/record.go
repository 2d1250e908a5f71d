package esltest

import (
	"context"
	"maps"
	"slices"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// ConnRecord is what happened on one event-socket connection.
type ConnRecord struct {
	ID       int           // 1, 2, ... in order of connection
	Outbound bool          // an outbound socket session (the simulator dialled out)
	UUID     string        // the session's channel (outbound only)
	Commands []esl.Command // in order: "auth ClueCon", "api ...", "sendmsg" with its headers
	Closed   bool
	Dropped  int // events dropped because the client did not read
	// Events are the events queued for the client, in order: the first
	// maxEventRecords of them (EventCount counts all).
	Events     []EventRecord
	EventCount int
}

// EventRecord names one event delivered to a connection.
type EventRecord struct {
	Name     string // Event-Name, or the subclass of a CUSTOM event
	UUID     string // Unique-ID, if any
	JobUUID  string // Job-UUID, if any
	Sequence string // Event-Sequence
}

// maxEventRecords bounds ConnRecord.Events: a client that subscribed
// without filters on a busy switch gets every event of it.
const maxEventRecords = 1000

// FaxResult is the outcome of a txfax or rxfax, as in spandsp's result event.
type FaxResult struct {
	Success       bool
	Code          int
	Text          string
	Pages         int // fax-document-transferred-pages
	TotalPages    int // fax-document-total-pages
	T38           bool
	BadRows       int
	RemoteStation string
	Negotiations  int
}

// CallRecord is one channel of the simulated switch.
type CallRecord struct {
	UUID        string
	Outbound    bool   // originated through the inbound socket (gofaxsend's leg)
	JobUUID     string // bgapi Job-UUID, if any
	Command     string // the originate arguments as received
	DialString  string // this leg's dial string, without variable blocks
	Destination string
	Gateway     string
	PeerUUID    string // the other leg of a loopback call
	Vars        map[string]string
	Apps        []string // "name arg" of each application executed
	Answered    bool
	HangupCause string
	Result      *FaxResult // nil if spandsp reported nothing
	File        string     // rxfax/txfax file
	Ended       bool       // CHANNEL_DESTROY was fired
	Killed      bool       // ended by uuid_kill
	Error       string     // why the simulator refused the request (bad dial string ...)
}

func (s *Sim) recordConn(c *conn) {
	// called with s.mu held
	s.nextConnID++
	c.rec = &ConnRecord{ID: s.nextConnID, Outbound: c.outbound}
	s.connRecs = append(s.connRecs, c.rec)
}

func (s *Sim) recordCommand(c *conn, cmd *esl.Command) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := c.rec
	r.Commands = append(r.Commands, *cmd)
	if c.session != nil {
		r.UUID = c.session.uuid
	}
	s.notifyLocked()
}

func (s *Sim) connClosed(c *conn) {
	c.qmu.Lock()
	dropped := c.dropped
	events, count := slices.Clone(c.events), c.eventCount
	c.qmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	c.rec.Closed = true
	c.rec.Dropped = dropped
	c.rec.Events, c.rec.EventCount = events, count
	delete(s.conns, c)
	if k := s.opts.KeepRecords; k > 0 {
		s.connRecs = dropOldest(s.connRecs, len(s.connRecs)-len(s.conns)-k, func(r *ConnRecord) bool { return r.Closed })
	}
	s.notifyLocked()
}

// dropOldest deletes the first n elements of list that are done.
func dropOldest[T any](list []T, n int, done func(T) bool) []T {
	if n <= 0 {
		return list
	}
	return slices.DeleteFunc(list, func(x T) bool {
		if n > 0 && done(x) {
			n--
			return true
		}
		return false
	})
}

// updateRec changes the record of leg l.
func (s *Sim) updateRec(l *leg, f func(r *CallRecord)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&l.rec)
	s.notifyLocked()
}

// Conns returns a snapshot of every connection so far, in order.
func (s *Sim) Conns() []ConnRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.qmu.Lock()
		c.rec.Events, c.rec.EventCount = slices.Clone(c.events), c.eventCount
		c.qmu.Unlock()
	}
	out := make([]ConnRecord, len(s.connRecs))
	for i, r := range s.connRecs {
		out[i] = *r
		out[i].Commands = slices.Clone(r.Commands)
		out[i].Events = slices.Clone(r.Events)
	}
	return out
}

// Calls returns a snapshot of every channel so far, in creation order.
func (s *Sim) Calls() []CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CallRecord, 0, len(s.legs))
	for _, l := range s.legs {
		out = append(out, s.snapshotLocked(l))
	}
	return out
}

func (s *Sim) snapshotLocked(l *leg) CallRecord {
	return cloneRecord(s.viewLocked(l))
}

// viewLocked returns the leg's record to read, not to keep: an ended
// leg's record is built once and shared.
func (s *Sim) viewLocked(l *leg) *CallRecord {
	if l.final != nil {
		return l.final
	}
	r := l.rec
	r.Vars = l.varsCopy()
	if r.Ended {
		l.final = &r
	}
	return &r
}

func cloneRecord(r *CallRecord) CallRecord {
	c := *r
	c.Apps = slices.Clone(r.Apps)
	c.Vars = maps.Clone(r.Vars)
	if r.Result != nil {
		res := *r.Result
		c.Result = &res
	}
	return c
}

// Call returns the record of the channel uuid.
func (s *Sim) Call(uuid string) (CallRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.legs {
		if l.uuid == uuid {
			return s.snapshotLocked(l), true
		}
	}
	return CallRecord{}, false
}

// Kills returns the UUIDs passed to uuid_kill, in order.
func (s *Sim) Kills() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.kills)
}

// DB returns the mod_db contents as "realm/key" → value.
func (s *Sim) DB() map[string]string {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	out := map[string]string{}
	for realm, kv := range s.db.realms {
		for _, k := range kv.keys {
			out[realm+"/"+k] = kv.vals[k]
		}
	}
	return out
}

// SetDB stores a mod_db value, as "db insert/realm/key/value" would.
func (s *Sim) SetDB(realm, key, value string) { s.db.insert(realm, key, value) }

// Wait blocks until cond, evaluated on every change of the recorded
// state, holds or ctx ends.
func (s *Sim) Wait(ctx context.Context, cond func(s *Sim) bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitCall waits for a channel whose record satisfies match and returns it.
func (s *Sim) WaitCall(ctx context.Context, match func(CallRecord) bool) (CallRecord, error) {
	var found CallRecord
	err := s.Wait(ctx, func(s *Sim) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, l := range s.legs {
			r := s.viewLocked(l)
			if match(*r) {
				found = cloneRecord(r)
				return true
			}
		}
		return false
	})
	return found, err
}

// WaitIdle waits until every channel so far has ended.
func (s *Sim) WaitIdle(ctx context.Context) error {
	return s.Wait(ctx, func(s *Sim) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, l := range s.legs {
			if !l.rec.Ended {
				return false
			}
		}
		return true
	})
}
