package esltest

import (
	"strings"
	"sync"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// statusText is the "status" output of the captured switch (api-db-misc_A_plain.raw).
const statusText = "UP 0 years, 0 days, 0 hours, 0 minutes, 12 seconds, 112 milliseconds, 211 microseconds\n" +
	"FreeSWITCH (Version 1.10.12-release  64bit) is ready\n" +
	"0 session(s) since startup\n" +
	"0 session(s) - peak 0, last 5min 0 \n" +
	"0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n" +
	"200 session(s) max\n" +
	"min idle cpu 0.00/99.23\n" +
	"Current Stack Size/Max 240K/8192K\n"

// api runs an api command and returns the api/response body. job is the
// bgapi Job-UUID ("" for api).
func (s *Sim) api(c *conn, arg, job string) string {
	name, rest, _ := strings.Cut(arg, " ")
	switch name {
	case "db":
		return s.db.command(rest)
	case "uuid_kill":
		return s.uuidKill(rest)
	case "uuid_exists":
		if s.lookup(strings.TrimSpace(rest)) != nil {
			return "true"
		}
		return "false"
	case "uuid_getvar":
		uuid, v, _ := strings.Cut(strings.TrimSpace(rest), " ")
		l := s.lookup(uuid)
		if l == nil {
			return "-ERR No such channel!\n"
		}
		if val := l.getVar(v); val != "" {
			return val
		}
		return "_undef_"
	case "originate":
		return s.originate(c, rest, job)
	case "status":
		return statusText
	}
	return "-ERR " + name + " Command not found!\n"
}

// uuidKill hangs a channel up: "uuid_kill <uuid> [cause]".
func (s *Sim) uuidKill(arg string) string {
	f := strings.Fields(arg)
	if len(f) == 0 {
		return "-USAGE: <uuid> [cause]\n"
	}
	s.mu.Lock()
	s.kills = append(s.kills, f[0])
	l := s.live[f[0]]
	s.notifyLocked()
	s.mu.Unlock()
	if l == nil || l.isHungup() {
		return "-ERR No such channel!\n"
	}
	cause := "NORMAL_CLEARING"
	if len(f) > 1 {
		cause = f[1]
	}
	s.updateRec(l, func(r *CallRecord) { r.Killed = true })
	switch {
	case l.answered():
		l.hangup(cause, "send_bye")
	case l.outbound:
		l.hangup(cause, "send_cancel") // still ringing: CANCEL
	default:
		l.hangup(cause, "send_refuse")
	}
	return "+OK\n"
}

// backgroundJob fires BACKGROUND_JOB for a bgapi command.
func (s *Sim) backgroundJob(job, arg, body string) {
	name, rest, _ := strings.Cut(arg, " ")
	s.publish("BACKGROUND_JOB", "", func(hs esl.Headers) esl.Headers {
		return append(hs,
			esl.Header{Name: "Job-UUID", Value: job},
			esl.Header{Name: "Job-Command", Value: name},
			esl.Header{Name: "Job-Command-Arg", Value: rest},
		)
	}, body)
}

// database is mod_db: realms of keys in insertion order.
type database struct {
	mu     sync.Mutex
	realms map[string]*realm
}

type realm struct {
	keys []string
	vals map[string]string
}

func newDatabase() *database { return &database{realms: map[string]*realm{}} }

func (d *database) insert(rl, key, value string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.realms[rl]
	if r == nil {
		r = &realm{vals: map[string]string{}}
		d.realms[rl] = r
	}
	if _, ok := r.vals[key]; !ok {
		r.keys = append(r.keys, key)
	}
	r.vals[key] = value
}

// command runs "db <op>/<realm>/<key>[/<value>]" with mod_db's replies
// (capture api-db-misc_A_plain.raw: some without a trailing newline).
func (d *database) command(arg string) string {
	const noReply = "-ERR no reply\n"
	parts := strings.SplitN(strings.TrimSpace(arg), "/", 4)
	d.mu.Lock()
	defer d.mu.Unlock()
	get := func() (string, bool) {
		if len(parts) < 3 {
			return "", false
		}
		r := d.realms[parts[1]]
		if r == nil {
			return "", false
		}
		v, ok := r.vals[parts[2]]
		return v, ok
	}
	switch parts[0] {
	case "insert":
		if len(parts) < 4 {
			return "-ERR db insert/<realm>/<key>/<val>\n"
		}
		d.mu.Unlock()
		d.insert(parts[1], parts[2], parts[3])
		d.mu.Lock()
		return "+OK"
	case "select":
		if v, ok := get(); ok {
			return v
		}
		return noReply
	case "exists":
		if _, ok := get(); ok {
			return "true"
		}
		return "false"
	case "delete":
		if len(parts) >= 3 {
			if r := d.realms[parts[1]]; r != nil {
				if _, ok := r.vals[parts[2]]; ok {
					delete(r.vals, parts[2])
					r.keys = removeString(r.keys, parts[2])
				}
				if len(r.keys) == 0 {
					delete(d.realms, parts[1])
				}
			}
		}
		return "+OK"
	case "list":
		if len(parts) >= 2 {
			if r := d.realms[parts[1]]; r != nil && len(r.keys) > 0 {
				return strings.Join(r.keys, ",")
			}
		}
		return noReply
	}
	return "-USAGE: [insert|delete]/<realm>/<key>/<val>\n"
}

func removeString(xs []string, x string) []string {
	out := xs[:0]
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}
